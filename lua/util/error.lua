-- util.error (reference §3.8): structured errors (type, condition, text, code, extra).

local M = {};
local error_mt = { __name = "error" };
error_mt.__index = error_mt;
function error_mt:__tostring()
	return ("error<%s:%s:%s>"):format(self.type, self.condition, self.text or "");
end

function M.is_err(e) return getmetatable(e) == error_mt; end

function M.new(e, context, registry, source)
	if M.is_err(e) then return e; end
	local template = registry and registry[e] or e;
	if type(template) ~= "table" then
		template = { type = "cancel", condition = "undefined-condition", text = tostring(e) };
	end
	return setmetatable({
		type = template.type or "cancel",
		condition = template.condition or "undefined-condition",
		text = template.text,
		code = template.code,
		extra = template.extra,
		context = context or {},
		source = source,
	}, error_mt);
end

function M.init(source, registry)
	return {
		new = function(e, context) return M.new(e, context, registry, source); end,
		coerce = function(ok, err, ...) return M.coerce(ok, err, ...); end,
		wrap = function(e, context) return M.new(e, context, registry, source); end,
	};
end

function M.coerce(ok, err, ...)
	if ok or M.is_err(err) then return ok, err, ...; end
	return ok, M.new({ type = "cancel", condition = "undefined-condition", text = tostring(err) }), ...;
end

function M.from_stanza(stanza, context)
	local error_type, condition, text, extra = stanza:get_error();
	local e = M.new({ type = error_type or "cancel", condition = condition, text = text, extra = extra and { tag = extra } },
		context);
	e.context.stanza = stanza;
	e.context.by = e.context.by or (stanza:get_child("error") or {}).attr and stanza:get_child("error").attr.by or stanza.attr.from;
	return e;
end

return M;
