-- util.jid (reference §3.2): splitting, preparing, joining and comparing JIDs.

local native = require "lilt.native";

local M = {};

local function split(jid)
	if type(jid) ~= "string" then return nil, nil, nil; end
	local node, nodepos = jid:match("^([^@/]+)@()");
	local host, hostpos = jid:match("^([^@/]+)()", nodepos);
	if node ~= nil and host == nil then return nil, nil, nil; end
	local resource = jid:match("^/(.+)$", hostpos);
	if host == nil or (resource == nil and #jid >= hostpos) then return nil, nil, nil; end
	return node, host, resource;
end
M.split = split;

function M.bare(jid)
	local node, host = split(jid);
	if node and host then return node .. "@" .. host; end
	return host;
end

function M.prepped_split(jid, strict)
	local node, host, resource = split(jid);
	if not host or host == "." then return nil; end
	if host:sub(-1, -1) == "." then host = host:sub(1, -2); end
	host = native.nameprep(host);
	if not host then return nil; end
	if node then
		node = native.nodeprep(node);
		if not node then return nil; end
	end
	if resource then
		resource = native.resourceprep(resource);
		if not resource then return nil; end
	end
	return node, host, resource;
end

local function join(node, host, resource)
	if not host then return nil; end
	if node and resource then return node .. "@" .. host .. "/" .. resource; end
	if node then return node .. "@" .. host; end
	if resource then return host .. "/" .. resource; end
	return host;
end
M.join = join;

function M.prep(jid, strict)
	local node, host, resource = M.prepped_split(jid, strict);
	return join(node, host, resource);
end

function M.compare(jid, acl)
	local jid_node, jid_host, jid_resource = split(jid);
	local acl_node, acl_host, acl_resource = split(acl);
	return ((acl_node ~= nil and acl_node == jid_node) or acl_node == nil)
		and ((acl_host ~= nil and acl_host == jid_host) or acl_host == nil)
		and ((acl_resource ~= nil and acl_resource == jid_resource) or acl_resource == nil);
end

function M.node(jid) return (select(1, split(jid))); end
function M.host(jid) return (select(2, split(jid))); end
function M.resource(jid) return (select(3, split(jid))); end

local escapes = {
	[" "] = "\\20", ['"'] = "\\22", ["&"] = "\\26", ["'"] = "\\27", ["/"] = "\\2f",
	[":"] = "\\3a", ["<"] = "\\3c", [">"] = "\\3e", ["@"] = "\\40", ["\\"] = "\\5c",
};
local unescapes = {};
for k, v in pairs(escapes) do unescapes[v] = k; end

function M.escape(s) return (s:gsub(".", escapes)); end
function M.unescape(s) return (s:gsub("\\%x%x", unescapes)); end

return M;
