-- net.http.server for plugins: Lilt serves HTTP natively (plugins register routes with
-- `module:provides("http")`); this gives the surface plugins touch directly — the event
-- bus with `http-error` for custom error pages, and the default-host setting.

local M = {};

M.events = require "util.events".new();

function M.set_default_host() end
function M.add_handler(event, handler, priority) return M.events.add_handler(event, handler, priority); end
function M.remove_handler(event, handler) return M.events.remove_handler(event, handler); end
function M.listen_on() return nil, "Lilt's HTTP listeners are native"; end
function M.set_option() end

return M;
