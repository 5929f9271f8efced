-- wrk prints p50/p75/p90/p99 with --latency; the load run also wants p95, so it prints its own.
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("p%d %.3fms\n", p, latency:percentile(p) / 1000))
  end
end
