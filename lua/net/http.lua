-- net.http for plugins: the request API (`request(url, options, callback)` and
-- `request(url, options)` returning a promise), so plugins that make outgoing HTTP calls
-- load. Lilt has no outgoing HTTP client yet: every request fails with an error the
-- plugin sees (callback with code 0, or a rejected promise), and the log says why.

local native = require "lilt.native";
local timer = require "util.timer";
local promise = require "util.promise";
local http_util = require "util.http";

local M = {};

local REASON = "outgoing HTTP requests are not supported by Lilt yet";

function M.request(url, options, callback)
	if type(options) == "function" then options, callback = nil, options; end
	native.log("warn", "net.http", "Request to " .. tostring(url) .. " refused: " .. REASON);
	if callback then
		-- Answered later, as a real request would be.
		timer.add_task(0, function() callback(REASON, 0, { url = url }); end);
		return { url = url };
	end
	return promise.reject({ code = 0, request = { url = url }, text = REASON });
end

function M.new(_) return { request = function(_, ...) return M.request(...); end }; end
M.default = M.new();
M.urlencode, M.urldecode = http_util.urlencode, http_util.urldecode;
M.formencode, M.formdecode = http_util.formencode, http_util.formdecode;
M.events = require "util.events".new();
M.feature = function() return false; end

return M;
