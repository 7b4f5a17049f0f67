-- net.http for plugins (Prosody 0.12's request API, our implementation): `request(url,
-- options, callback)` calls back `callback(body, code, response, request)`, or with
-- (reason, 0, request) when no answer came; `request(url, options)` without a callback
-- returns a util.promise resolved with the response (any status) or rejected with a
-- util.error. Options: `method` (default GET, POST when there is a body), `headers`,
-- `body`. The request runs natively (hyper) off the Lua VM; plain http:// only.

local native = require "lilt.native";
local promise = require "util.promise";
local http_util = require "util.http";
local errors = require "util.error";

local M = {};

local pending = {};
local next_id = 0;

local function request(url, options, callback)
	if type(options) == "function" then options, callback = nil, options; end
	options = options or {};
	local req = { url = url, method = options.method or (options.body and "POST" or "GET"),
		headers = options.headers or {}, body = options.body };
	if not callback then
		return promise.new(function(resolve, reject)
			request(url, options, function(body, code, response, r)
				if code == 0 then
					reject(errors.new({ type = "wait", condition = "remote-server-timeout",
						text = body, code = 0 }, { request = response }));
				else
					response.request = r;
					resolve(response);
				end
			end);
		end);
	end
	next_id = next_id + 1;
	local id = next_id;
	pending[id] = { callback = callback, request = req };
	local ok, err = pcall(native.http_request, id, req.method, url, req.headers,
		req.body and tostring(req.body) or nil);
	if not ok then
		pending[id] = nil;
		require "util.timer".add_task(0, function() callback(tostring(err), 0, req); end);
	end
	return req;
end

function M._answer(id, err, code, body, headers)
	local p = pending[id];
	if not p then return; end
	pending[id] = nil;
	if err then
		native.log("debug", "net.http", "Request to " .. tostring(p.request.url) .. " failed: " .. tostring(err));
		return p.callback(err, 0, p.request);
	end
	local response = { code = code, body = body, headers = headers, request = p.request };
	return p.callback(body, code, response, p.request);
end

function M.request(url, options, callback) return request(url, options, callback); end

function M.new(defaults)
	return { request = function(_, url, options, callback)
		if type(options) == "function" then options, callback = nil, options; end
		local merged = {};
		for k, v in pairs(defaults or {}) do merged[k] = v; end
		for k, v in pairs(options or {}) do merged[k] = v; end
		return request(url, merged, callback);
	end };
end
M.default = M.new();
M.urlencode, M.urldecode = http_util.urlencode, http_util.urldecode;
M.formencode, M.formdecode = http_util.formencode, http_util.formdecode;
M.events = require "util.events".new();
M.feature = function() return false; end

return M;
