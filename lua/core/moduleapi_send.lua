-- Sending from modules (`send`, `send_iq` with promises, `broadcast`), timers and cron
-- tasks, and the public URL of HTTP apps.

local native = require "lilt.native";
local st = require "util.stanza";
local jid = require "util.jid";
local timer = require "util.timer";
local promise = require "util.promise";
local errors = require "util.error";
local hostmanager = require "core.hostmanager";

return function(api)

-- The public URL of an HTTP app (§6.8): `http_external_url` when set, else the first
-- HTTP port on the host name.
function api:http_url(app_name, default_path)
	app_name = app_name or (self.name:gsub("^http_", ""));
	local paths = self:get_option("http_paths", {});
	local path = type(paths) == "table" and paths[app_name] or default_path or ("/" .. app_name);
	path = path:gsub("%$host", self.host);
	if path:sub(1, 1) ~= "/" then path = "/" .. path; end
	local external = self:get_option_string("http_external_url");
	if external then
		return (external:gsub("/$", "")) .. path;
	end
	local ports = native.config("*", "http_ports");
	local port = type(ports) == "table" and ports[1] or 5280;
	local host = self:get_option_string("http_host", self.host);
	return "http://" .. host .. (port == 80 and "" or (":" .. tostring(port))) .. path;
end

-- Sending ---------------------------------------------------------------------------------

function api:send(stanza, origin)
	return prosody.core_post_stanza(origin or hostmanager.hosts[self.host], stanza);
end

function api:broadcast(jids, stanza, iter)
	for to in (iter or pairs)(jids) do
		local copy = st.clone(stanza);
		copy.attr.to = to;
		self:send(copy);
	end
end

function api:send_iq(stanza, origin, timeout)
	local iq_cache = rawget(self, "_iq_cache");
	if not iq_cache then iq_cache = {}; self._iq_cache = iq_cache; end
	local id = stanza.attr.id;
	local from = stanza.attr.from or self.host;
	local kind = (jid.node(from) and (jid.resource(from) and "full" or "bare")) or "host";
	local result_event = "iq-result/" .. kind .. "/" .. id;
	local error_event = "iq-error/" .. kind .. "/" .. id;
	return promise.new(function(resolve, reject)
		if iq_cache[id] then
			reject(errors.new({ type = "cancel", condition = "conflict", text = "IQ stanza id attribute already used" }));
			return;
		end
		local count = 0;
		for _ in pairs(iq_cache) do count = count + 1; end
		if count >= 256 then
			reject(errors.new({ type = "cancel", condition = "resource-constraint", text = "Too many outstanding IQs" }));
			return;
		end
		local result_handler, error_handler, timeout_task;
		local function cleanup()
			self:unhook(result_event, result_handler);
			self:unhook(error_event, error_handler);
			if timeout_task then timeout_task:stop(); end
			iq_cache[id] = nil;
		end
		result_handler = function(event)
			cleanup();
			resolve(event);
			return true;
		end
		error_handler = function(event)
			cleanup();
			reject(errors.from_stanza(event.stanza, event));
			return true;
		end
		self:hook(result_event, result_handler);
		self:hook(error_event, error_handler);
		timeout_task = self:add_timer(timeout or 120, function()
			timeout_task = nil;
			cleanup();
			reject(errors.new({ type = "wait", condition = "remote-server-timeout", text = "IQ stanza timed out" }));
		end);
		iq_cache[id] = true;
		self:send(stanza, origin);
	end);
end

-- Timers ----------------------------------------------------------------------------------

function api:add_timer(delay, callback, ...)
	local args = table.pack(...);
	local mod = self;
	local task = { stopped = false };
	local function run(now)
		if task.stopped or not mod.loaded then return; end
		local ret = callback(now, table.unpack(args, 1, args.n));
		if type(ret) == "number" and not task.stopped then return ret; end
		task.stopped = true;
	end
	task.id = timer.add_task(delay, run);
	function task:stop()
		self.stopped = true;
		timer.stop(self.id);
	end
	task.disarm = task.stop;
	function task:reschedule(new_delay)
		timer.stop(self.id);
		self.stopped = false;
		self.id = timer.add_task(new_delay, run);
	end
	self.timers[#self.timers + 1] = task;
	return task;
end

-- Cron-style tasks run from plain timers here (mod_cron is not needed).
local function periodic(self, seconds, name, fn)
	if type(name) == "function" then fn = name; end
	return self:add_timer(seconds, function()
		fn({ when = os.time() });
		return seconds;
	end);
end
function api:hourly(name, fn) return periodic(self, 3600, name, fn); end
function api:daily(name, fn) return periodic(self, 86400, name, fn); end
function api:weekly(name, fn) return periodic(self, 7 * 86400, name, fn); end
function api:cron(spec)
	local period = ({ hourly = 3600, daily = 86400, weekly = 7 * 86400 })[spec.when] or 86400;
	return periodic(self, period, spec.name, spec.run);
end

end;
