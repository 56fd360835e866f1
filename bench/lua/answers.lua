-- Shared by the load scripts: count the answers whose code is not the one the load expects, and
-- print the count when wrk is done, so a benchmark can never pass off errors as throughput.
-- A script sets `expected` (a fragment every answer should contain, such as '"CodeResult":"100"')
-- before including this.
local threads = {}

function setup(thread)
  thread:set("thread_index", #threads + 1)
  table.insert(threads, thread)
end

unexpected = 0

function response(status, headers, body)
  if not string.find(body, expected, 1, true) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write(string.format("Unexpected answers (without %s): %d\n", expected, total))
end
