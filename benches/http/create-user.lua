-- wrk: POST /Users with a userName no other request (of any wrk thread, or of an earlier run
-- against the same database: the prefix carries the time) uses; any status but 201 is
-- printed to stderr.
local counter = 0
local prefix = ""
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("prefix", "t" .. threads .. "-" .. os.time() .. "-" .. math.random(1, 1e9) .. "-")
end

function init(args)
  prefix = wrk.thread:get("prefix") or tostring(math.random(1, 1e9))
end

function request()
  counter = counter + 1
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' ..
    prefix .. counter .. '","displayName":"Load ' .. counter .. '"}'
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer bench",
    ["Content-Type"] = "application/scim+json",
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
