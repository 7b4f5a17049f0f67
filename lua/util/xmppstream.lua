-- util.xmppstream (Prosody 0.12's API, our implementation over Lilt's native push
-- parser): new(session, callbacks[, size_limit]) gives a stream with feed(data),
-- reset(), set_session(s) and set_stanza_size_limit(n). Callbacks, as Prosody calls
-- them: streamopened(session, attr), handlestanza(session, stanza),
-- streamclosed(session, attr), error(session, name, detail). `stream_ns` and
-- `stream_tag` (default "stream") say what the first element must be; a stanza in
-- `default_ns` has no `xmlns` attribute.

local native = require "lilt.native";

local M = {};

M.ns_separator = "\1";
M.ns_pattern = "^([^\1]*)\1?(.*)$";

local STREAMS = "http://etherx.jabber.org/streams";

function M.new(session, callbacks, size_limit)
	callbacks = callbacks or {};
	local parser = native.xmppstream_new(size_limit);
	local stream_ns = callbacks.stream_ns or STREAMS;
	local stream_tag = callbacks.stream_tag or "stream";
	local default_ns = callbacks.default_ns;
	local opened = false;
	local failed = false;
	local stream = {};

	local function fail(name, detail)
		failed = true;
		if callbacks.error then callbacks.error(session, name, detail); end
	end

	function stream:feed(data)
		if failed then return nil, "stream is in an error state"; end
		local events, err = parser:feed(data);
		for _, ev in ipairs(events) do
			if ev.kind == "open" then
				if ev.ns ~= stream_ns or ev.name ~= stream_tag then
					fail("no-stream", ev.ns .. M.ns_separator .. ev.name);
					return nil, "no-stream";
				end
				opened = true;
				if session then session.notopen = nil; end
				if callbacks.streamopened then callbacks.streamopened(session, ev.attr); end
			elseif ev.kind == "stanza" then
				local stanza = ev.stanza;
				if default_ns and stanza.attr.xmlns == default_ns then stanza.attr.xmlns = nil; end
				if default_ns and default_ns ~= "jabber:client" and stanza.attr.xmlns == nil
					and ev.ns == "jabber:client" then
					stanza.attr.xmlns = ev.ns;
				end
				if callbacks.handlestanza then callbacks.handlestanza(session, stanza); end
			elseif ev.kind == "close" then
				opened = false;
				if callbacks.streamclosed then callbacks.streamclosed(session, {}); end
			end
		end
		if err then
			fail(err.name, err.text);
			return nil, err.text;
		end
		return true;
	end

	function stream:reset()
		parser:reset();
		opened, failed = false, false;
		if session then session.notopen = true; end
	end

	function stream:set_session(s) session = s; end
	function stream:set_stanza_size_limit(n) parser:set_limit(n); end
	function stream:is_open() return opened; end

	return stream;
end

return M;
