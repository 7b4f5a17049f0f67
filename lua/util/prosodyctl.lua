-- util.prosodyctl for plugins: the helpers a plugin's `module.command` uses to talk to
-- the operator. Lilt's own CLI is `lilt`; from the server these only log.

local native = require "lilt.native";

local M = {};

function M.show_message(fmt, ...) native.log("info", "prosodyctl", string.format(fmt, ...)); end
M.show_warning = M.show_message;
function M.show_usage(usage, desc)
	native.log("info", "prosodyctl", "Usage: " .. tostring(usage) .. (desc and ("\n" .. desc) or ""));
end
function M.show_prompt() return false; end
function M.read_password() return nil; end
function M.getchar() return nil; end
function M.getline() return nil; end
function M.getpass() return nil; end
function M.isrunning() return true; end

return M;
