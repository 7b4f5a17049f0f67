-- util.xml: parse a string of XML into a stanza object.

local native = require "lilt.native";
require "util.stanza";

return {
	parse = function(s)
		return native.xml_parse(s);
	end,
};
