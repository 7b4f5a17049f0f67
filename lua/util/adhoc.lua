-- util.adhoc: command handlers for mod_adhoc built from a data form. The first call
-- returns the form (`executing`); the submission's fields go to `result_handler`.

local M = {};

local function submitted(form, data, state, result_handler)
	if data.action == "cancel" then return { status = "canceled" }; end
	local fields, err = form:data(data.form);
	return result_handler(fields, err, data);
end

local actions = { "next", "complete", default = "complete" };

function M.new_simple_form(form, result_handler)
	return function(_, data, state)
		if state or data.form then return submitted(form, data, state, result_handler); end
		return { status = "executing", actions = actions, form = form }, "executing";
	end;
end

function M.new_initial_data_form(form, initial_data, result_handler)
	return function(_, data, state)
		if state or data.form then return submitted(form, data, state, result_handler); end
		local values, err = initial_data(data);
		if type(err) == "table" then return { status = "error", error = err }; end
		if type(err) == "string" then
			return { status = "error", error = { type = "cancel", condition = "internal-server-error", err } };
		end
		return { status = "executing", actions = actions, form = { layout = form, values = values } },
			"executing";
	end;
end

return M;
