-- mod_hello: an example Lilt (and Prosody) plugin. Put its directory on `plugin_paths`
-- and add "hello" to `modules_enabled`.
--
-- * answers <hello xmlns='urn:example:hello'/> IQs sent to the server,
-- * replies to chat messages sent to the server that start with "!hello",
-- * counts greetings per user in a keyval store, and
-- * says how many people it has greeted at GET /hello/stats.

local st = require "util.stanza";
local json = require "util.json";

local xmlns = "urn:example:hello";
local greeting = module:get_option_string("hello_greeting", "Hello");
local counts = module:open_store("hello_counts");

module:add_feature(xmlns);

-- Greets `username` and remembers it; returns the greeting text.
local function greet(username)
	local data = counts:get(username) or { n = 0 };
	data.n = data.n + 1;
	counts:set(username, data);
	return ("%s, %s! (greeting #%d)"):format(greeting, username, data.n);
end

module:hook("iq-get/host/" .. xmlns .. ":hello", function(event)
	local origin, stanza = event.origin, event.stanza;
	origin.send(st.reply(stanza):text_tag("hello", greet(origin.username), { xmlns = xmlns }));
	return true;
end);

module:hook("message/host", function(event)
	local origin, stanza = event.origin, event.stanza;
	local body = stanza:get_child_text("body");
	if stanza.attr.type ~= "chat" or not body or not body:match("^!hello") then
		return; -- not ours: let other handlers see it
	end
	origin.send(st.message({ to = stanza.attr.from, from = stanza.attr.to, type = "chat" }, greet(origin.username)));
	return true;
end);

module:depends("http");
module:provides("http", {
	route = {
		["GET /stats/*"] = function(event, username)
			local data = counts:get(username);
			event.response.headers.content_type = "application/json";
			return json.encode({ user = username, greetings = data and data.n or 0 });
		end;
	};
});

module:log("info", "Ready to say %q", greeting);
