-- mod_motd: sends the message of the day (`motd_text`) to each session when it sends
-- its initial presence. `motd_jid` sets the sender (default: the host).

local st = require "util.stanza";

local text = module:get_option_string("motd_text");
local from = module:get_option_string("motd_jid", module.host);

if not text then
	module:log("debug", "No motd_text set; nothing to send");
	return;
end

-- Config files often indent long strings; strip that indentation.
text = text:gsub("^%s+", ""):gsub("%s+$", ""):gsub("\n[ \t]+", "\n");

module:hook("presence/initial", function(event)
	local session = event.origin;
	module:send(st.message({ to = session.full_jid, from = from, type = "normal" }):text_tag("body", text));
end, 1);
