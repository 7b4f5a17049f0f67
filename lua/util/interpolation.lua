-- util.interpolation: a small template language. `new(pattern, escape, funcs)` returns
-- `render(template, values)`; `pattern` (e.g. "%b{}") finds the `{...}` sequences:
--   {name}         value, escaped           {name!}      value, unescaped
--   {a.b.c}        a nested field           {name|f|g}   value through funcs f then g
--   {name?text}    text (rendered) if the value is false or nil, else the value
--   {name&text}    text if the value is truthy      {name~text}  text if it is falsy
--   {name#text}    text for each list item ({item}, {idx})   {name%text}  each pair

local M = {};

local function lookup(values, name)
	local v = values[name];
	if v == nil and name:find(".", 2, true) then
		v = values;
		for part in name:gmatch("[^.]+") do
			if type(v) ~= "table" then return nil; end
			v = v[part];
		end
	end
	return v;
end

function M.new(pattern, escape, funcs)
	local render;
	local function expand(block, values)
		local inner = block:sub(2, -2);
		local name, rest = inner:match("^([%w_.]+)(.*)$");
		if not name then return nil; end -- not ours: leave the text unchanged
		local value = lookup(values, name);
		-- Filters: |name(arg) pipes the value through funcs[name].
		while true do
			local fname, arg, after = rest:match("^|([%w_]+)%(([^)]*)%)(.*)$");
			if not fname then fname, after = rest:match("^|([%w_]+)(.*)$"); end
			if not fname then break; end
			local f = funcs and funcs[fname];
			if value ~= nil and f then
				if arg then value = f(value, arg); else value = f(value); end
			end
			rest = after;
		end
		local op, text = rest:sub(1, 1), rest:sub(2);
		if op == "#" or op == "%" then
			if type(value) ~= "table" then return ""; end
			local out = {};
			local iter = op == "#" and ipairs or pairs;
			for k, item in iter(value) do
				local sub = setmetatable({ idx = k, item = item }, { __index = values });
				out[#out + 1] = render(text, sub);
			end
			return table.concat(out);
		elseif op == "&" then
			if not value then return ""; end
			return render(text, values);
		elseif op == "~" then
			if value then return ""; end
			return render(text, values);
		elseif op == "?" and not value then
			return render(text, values);
		elseif value ~= nil then
			if type(value) ~= "string" then value = tostring(value); end
			if op == "!" then return value; end
			return escape(value);
		end
		return "";
	end
	function render(template, values)
		return (template:gsub(pattern, function(block) return expand(block, values); end));
	end
	return render;
end

return M;
