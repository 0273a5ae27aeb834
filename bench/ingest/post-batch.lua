-- wrk script: POST /v1/events with a 100-event batch whose event_ids are fresh UUIDv7s on every
-- request (the store ignores an event_id it already has, so fixed ids would measure a no-op insert).
--
--   wrk -s post-batch.lua URL -- TEMPLATE_FILE SALT
--
-- TEMPLATE_FILE: a batch body with "@@ID@@" where each event_id goes (`ingest-bench template`);
-- SALT: 0-4095, different for each wrk run against the same store. Prints one JSON line at the end.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local pieces, parts, n_ids, id_format, counter
not_accepted = 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  pieces = {}
  local start = 1
  while true do
    local s, e = string.find(body, "@@ID@@", start, true)
    if not s then
      pieces[#pieces + 1] = body:sub(start)
      break
    end
    pieces[#pieces + 1] = body:sub(start, s - 1)
    start = e + 1
  end
  n_ids = #pieces - 1
  local salt = tonumber(args[2] or "0") % 4096
  -- UUIDv7: 48-bit ms timestamp, version 7, 12 bits of salt, variant 10, then thread and counter.
  local ms = os.time() * 1000
  id_format = string.format("%08x-%04x-7%03x-%04x-", math.floor(ms / 65536), ms % 65536, salt, 0x8000 + tid)
    .. "%012x"
  counter = 0
  parts = {}
  wrk.method = "POST"
  wrk.path = "/v1/events"
  wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
  wrk.headers["User-Agent"] =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
  wrk.headers["Origin"] = "http://127.0.0.1"
end

function request()
  for i = 1, n_ids do
    counter = counter + 1
    parts[2 * i - 1] = pieces[i]
    parts[2 * i] = string.format(id_format, counter)
  end
  parts[2 * n_ids + 1] = pieces[n_ids + 1]
  return wrk.format(nil, nil, nil, table.concat(parts))
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"accepted":' .. n_ids .. ',', 1, true) then
    not_accepted = not_accepted + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("not_accepted") or 0)
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"requests_per_s":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,'
      .. '"max_ms":%.3f,"mean_ms":%.3f,"errors":%d,"not_accepted":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect + e.read + e.write + e.status + e.timeout, bad))
end
