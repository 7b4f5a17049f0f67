-- mod_http_status: a small JSON status page for monitoring, at /status by default
-- (`http_paths = { status = "/somewhere" }` moves it). It reports the server's uptime and
-- how many sessions this host has; `GET /status/modules` lists the modules loaded here.

local json = require "util.json";
local array = require "util.array";
local it = require "util.iterators";

local start_time = prosody.start_time;

local function count_sessions()
	local n = 0;
	for _, user in pairs(prosody.hosts[module.host].sessions) do
		n = n + it.count(pairs(user.sessions));
	end
	return n;
end

local function reply(event, data)
	event.response.headers.content_type = "application/json";
	event.response.headers.cache_control = "no-cache";
	return json.encode_ordered(data);
end

module:depends("http");
module:provides("http", {
	route = {
		["GET"] = function(event)
			return reply(event, {
				status = "ok",
				host = module.host,
				uptime = os.time() - start_time,
				sessions = count_sessions(),
			});
		end;
		["GET /modules"] = function(event)
			local names = array.collect(it.keys(prosody.hosts[module.host].modules)):sort();
			return reply(event, names);
		end;
	};
});
