-- module:provides("http", ...) for Lua plugins (reference §6.2): the app's routes go to
-- the native HTTP router; requests reach the handlers on the core thread.

local native = require "lilt.native";

local M = {};

function M.register(module, app)
	if not native.http_register then
		module:log("error", "HTTP routes cannot be registered: the HTTP bridge is not available");
		return;
	end
	local routes = {};
	for key, handler in pairs(app.route or {}) do
		routes[#routes + 1] = key;
	end
	table.sort(routes);
	native.http_register(module.host, app.name, app.default_path, routes, app.route);
	module.http_apps = module.http_apps or {};
	module.http_apps[#module.http_apps + 1] = app.name;
end

-- Called when a module unloads: its routes stay in the router but answer 404.
function M.unregister(module)
	for _, name in ipairs(rawget(module, "http_apps") or {}) do
		native.http_unregister(module.host, name);
	end
	module.http_apps = nil;
end

return M;
