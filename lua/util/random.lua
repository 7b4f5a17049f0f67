-- util.random: cryptographically strong random bytes.

local native = require "lilt.native";

return { bytes = native.random_bytes };
