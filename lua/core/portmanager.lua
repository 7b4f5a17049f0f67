-- core.portmanager for plugins: which network services Lilt runs. Listeners are Lilt's
-- own (native); plugins can look at them but not open new ones.

local native = require "lilt.native";

local M = {};

local services = { c2s = true, http = true, https = true, c2s_direct_tls = false };

function M.get_service(name)
	if services[name] == nil then return nil; end
	return { { service = { name = name } } };
end

function M.get_active_services()
	local list = {};
	for name, on in pairs(services) do
		if on then list[name] = { ["*"] = { } }; end
	end
	return { search = function() return list; end, data = list };
end

function M.get_service_at() return nil; end
-- Services plugins registered (none: listeners are native).
function M.get_registered_services() return {}; end

function M.register_service(name)
	native.log("warn", "portmanager", "A plugin asked to listen as service '" .. tostring(name)
		.. "'; Lilt's listeners are native, so this service is not opened");
	return false;
end
function M.unregister_service() return true; end
function M.activate() return nil, "Lilt's listeners are native"; end
function M.deactivate() end

return M;
