-- net.server for plugins: the parts Lilt's core loop provides — timers (`add_task`,
-- `timer.add_task`), the backend name, and `setquitting`. Sockets belong to Lilt's
-- native network layer, so `addserver`/`addclient`/`watchfd` say so instead of listening.

local timer = require "util.timer";
local native = require "lilt.native";

local M = {};

function M.add_task(delay, callback) return timer.add_task(delay, callback); end
M.timer = { add_task = M.add_task, stop = timer.stop, reschedule = timer.reschedule };
function M.get_backend() return "lilt"; end
function M.setquitting() end
function M.loop() end
function M.step() end
function M.closeall() end
function M.hook_signal() return false; end
function M.set_config() end

local function unsupported(what)
	return function()
		native.log("warn", "net.server", what .. " is not available to plugins in Lilt (listeners are native)");
		return nil, "unsupported";
	end;
end
M.addserver = unsupported("net.server.addserver");
M.listen = unsupported("net.server.listen");
M.addclient = unsupported("net.server.addclient");
M.wrapclient = unsupported("net.server.wrapclient");
M.watchfd = unsupported("net.server.watchfd");
M.link = function() end

return M;
