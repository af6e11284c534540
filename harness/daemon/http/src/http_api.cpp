#include "gpusoak/harness/http_api.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/provenance_text.hpp"
#include "gpusoak/harness/report.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

constexpr std::string_view runs_prefix = "/api/v1/runs";

http_response make_response(unsigned status, std::string body, std::string_view content_type, const http_request& req) {
  http_response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::server, "gpusoakd");
  res.set(http::field::content_type, std::string(content_type));
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response json_response(unsigned status, const json& body, const http_request& req) {
  // Replace, not throw, on invalid UTF-8: an error message may echo a client's bytes.
  return make_response(status, body.dump(2, ' ', false, json::error_handler_t::replace) + "\n", "application/json",
                       req);
}

http_response error(unsigned status, std::string_view message, const http_request& req) {
  return json_response(status, json{{"error", message}}, req);
}

// An error from the store, the manager or the gate, answered by its kind.
http_response error(const gpusoak::error& e, const http_request& req) {
  return error(http_status(e.kind), e.message, req);
}

http_response error(error_kind kind, std::string_view message, const http_request& req) {
  return error(http_status(kind), message, req);
}

std::string iso(timestamp t) {
  const auto ms = t.time_since_epoch().count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", std::chrono::floor<std::chrono::seconds>(t), ms);
}

json iso_or_null(const std::optional<timestamp>& t) {
  return t ? json(iso(*t)) : json(nullptr);
}

// The plan duration of a stored run (its plan text scaled), 0 when it no longer parses.
double plan_seconds(const run_record& run) {
  auto plan = scenarios::parse_plan(run.plan_text, run.plan_name);
  if (!plan) return 0;
  auto scaled = plan->scaled(run.time_scale);
  return scaled ? std::chrono::duration<double>(scaled->total_duration()).count() : 0;
}

json run_summary(const run_record& run, const std::optional<live_status>& live) {
  const double total = live ? live->plan_seconds : plan_seconds(run);
  const double done = live ? live->plan_t : std::max(run.elapsed_seconds, run.last_sample_t.value_or(0));
  const bool final =
      run.state != run_state::queued && run.state != run_state::running && run.state != run_state::interrupted;
  return json{
      {"id", run.id},
      {"plan", run.plan_name},
      {"device", run.device},
      {"state", to_string(run.state)},
      {"verdict_reason", run.verdict_reason},
      {"created_at", iso(run.created_at)},
      {"started_at", iso_or_null(run.started_at)},
      {"ended_at", iso_or_null(run.ended_at)},
      {"time_scale", run.time_scale},
      {"elapsed_seconds", done},
      {"plan_seconds", total},
      {"progress_ratio", final && run.state == run_state::passed ? 1.0
                         : total > 0                             ? std::min(1.0, done / total)
                                                                 : 0.0},
      {"samples", run.sample_count},
      {"events", run.event_count},
  };
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "a=1&b=2" into a map; later keys win. Values are not percent-decoded: ours never need it.
std::map<std::string, std::string, std::less<>> parse_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    const auto eq = part.find('=');
    out[std::string(part.substr(0, eq))] = eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

// Whether a presented secret equals the expected one, in time that depends on the expected length
// only: how many leading bytes of a guess match must not show in the response time.
bool same_secret(std::string_view presented, std::string_view expected) {
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i] ^ (i < presented.size() ? presented[i] : '\0'));
  }
  return diff == 0;
}

// Whether an Authorization value carries `token` in the Bearer scheme. The scheme name is
// case-insensitive (RFC 9110 11.1: "bearer" is "Bearer"); the token is compared exactly.
bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ') return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return false;
  }
  auto credentials = authorization.substr(scheme.size());
  while (!credentials.empty() && credentials.front() == ' ') credentials.remove_prefix(1);
  return same_secret(credentials, token);
}

class router {
 public:
  router(const http_request& req, api_context& api) : req_(req), api_(api) {}

  http_response route() {
    const std::string_view target(req_.target().data(), req_.target().size());
    const auto qmark = target.find('?');
    const std::string_view path = target.substr(0, qmark);
    query_ = parse_query(qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1));
    // HEAD is answered wherever GET is (RFC 9110 9.3.2): GET's status and headers, Content-Length
    // included, without the body, so a load balancer's HEAD probe of /healthz sees the same answer.
    if (req_.method() == http::verb::head) {
      auto res = dispatch(path, http::verb::get);
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
      return res;
    }
    return dispatch(path, req_.method());
  }

 private:
  http_response dispatch(std::string_view path, http::verb verb) {
    if (path == "/healthz") return only(verb, http::verb::get, [&] { return healthz(); });
    if (path == "/metrics") {
      return only(verb, http::verb::get, [&] {
        api_.metrics.store_out_of_space(api_.store.out_of_space().has_value());
        return make_response(200, api_.metrics.serialize(), "text/plain; version=0.0.4; charset=utf-8", req_);
      });
    }
    if (path == runs_prefix || path == "/api/v1/runs/") {
      if (verb == http::verb::get) return list_runs();
      if (verb == http::verb::post) return authorized([&] { return start_run(); });
      return not_allowed("GET, HEAD, POST");
    }
    if (path.starts_with("/api/v1/runs/")) {
      std::string_view rest = path.substr(runs_prefix.size() + 1);
      const auto slash = rest.find('/');
      const std::string_view id = rest.substr(0, slash);
      const std::string_view action = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      if (id.empty() || id.size() > 64) return error(404, fmt::format("no route for {}", path), req_);
      if (action.empty()) return only(verb, http::verb::get, [&] { return get_run(id); });
      if (action == "stop")
        return only(verb, http::verb::post, [&] { return authorized([&] { return stop_run(id); }); });
      if (action == "gate") return only(verb, http::verb::get, [&] { return gate(id); });
      if (action == "report") return only(verb, http::verb::get, [&] { return report(id); });
    }
    return error(404,
                 fmt::format("no route for {}; the API: /api/v1/runs, /api/v1/runs/{{id}}, /api/v1/runs/{{id}}/stop, "
                             "/api/v1/runs/{{id}}/gate, /api/v1/runs/{{id}}/report, /healthz, /metrics",
                             path),
                 req_);
  }

  template <class F>
  http_response only(http::verb verb, http::verb allowed, F&& f) {
    if (verb != allowed) {
      return not_allowed(allowed == http::verb::get ? std::string("GET, HEAD") : std::string(http::to_string(allowed)));
    }
    return f();
  }

  http_response not_allowed(const std::string& allow) {
    auto res = error(405,
                     fmt::format("method {} not allowed here; allowed: {}",
                                 std::string_view(req_.method_string().data(), req_.method_string().size()), allow),
                     req_);
    res.set(http::field::allow, std::string(allow));
    return res;
  }

  // A state change needs the token (when one is set) and must not come from a web page. Browsers
  // send Origin with every POST they make (fetch, XHR, forms; cross-site or not) and our clients
  // (gpusoak, curl, scripts) do not. Without this, any page the operator opens could start or stop
  // runs on a loopback daemon without a token: a cross-site POST with a text/plain body needs no
  // CORS preflight, and the body is read as JSON whatever its type.
  template <class F>
  http_response authorized(F&& f) {
    if (const auto origin = req_.find(http::field::origin); origin != req_.end()) {
      return error(403,
                   fmt::format("POST requests from web pages (Origin: {}) are refused; start and stop runs with "
                               "gpusoak, curl or a script, which send no Origin header",
                               std::string_view(origin->value().data(), origin->value().size())),
                   req_);
    }
    if (!api_.token) return f();
    const auto it = req_.find(http::field::authorization);
    if (it == req_.end() || !bearer_matches(std::string_view(it->value().data(), it->value().size()), *api_.token)) {
      auto res = error(401,
                       it == req_.end() ? "this request changes state: send 'Authorization: Bearer <token>' with the "
                                          "token from the daemon's --token-file"
                                        : "the bearer token does not match the daemon's --token-file",
                       req_);
      res.set(http::field::www_authenticate, "Bearer realm=\"gpusoakd\"");
      return res;
    }
    return f();
  }

  // 200 while the daemon serves, also with a full disk ("degraded" and why): restarting it would
  // not free space, so a liveness probe must not see a failure.
  http_response healthz() {
    json active = json::array();
    for (const auto& run : api_.runs.active()) active.push_back({{"id", run.id}, {"gpu", run.device}});
    json body{{"status", "ok"}, {"version", api_.version}, {"active_runs", active}};
    if (const auto full = api_.store.out_of_space()) {
      body["status"] = "degraded";
      body["store_error"] = *full;
    }
    return json_response(200, body, req_);
  }

  // The stored run with the end the store could not record (a full disk), when there is one.
  run_record as_known(run_record run) const {
    if (const auto end = api_.runs.unstored(run.id)) {
      run.state = end->state;
      run.verdict_reason = end->reason;
    }
    return run;
  }

  http_response list_runs() {
    std::int64_t limit = 50;
    if (const auto it = query_.find("limit"); it != query_.end()) {
      const auto parsed = parse_int(it->second);
      if (!parsed || *parsed < 1 || *parsed > 1000) {
        return error(error_kind::validation, fmt::format("limit '{}' is not a whole number from 1 to 1000", it->second),
                     req_);
      }
      limit = *parsed;
    }
    auto runs = api_.store.list_runs(limit);
    if (!runs) return error(with_context(runs.error(), "run store: ").error(), req_);
    json out = json::array();
    for (const auto& run : *runs) out.push_back(run_summary(as_known(run), api_.runs.live(run.id)));
    return json_response(200, {{"runs", out}}, req_);
  }

  http_response start_run() {
    const auto body = json::parse(req_.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      return error(error_kind::validation,
                   "the body is not JSON; send {\"plan\": \"smoke\", \"time_scale\": 0.25} or {\"plan_yaml\": \"...\"}",
                   req_);
    }
    if (!body.is_object())
      return error(error_kind::validation, "the body must be a JSON object: {\"plan\": \"smoke\"}", req_);
    run_request request;
    for (const auto& [key, value] : body.items()) {
      if (key == "plan") {
        if (!value.is_string())
          return error(error_kind::validation, "\"plan\" must be a string: a plan name such as \"smoke\"", req_);
        request.plan_name = value.get<std::string>();
      } else if (key == "plan_yaml") {
        if (!value.is_string())
          return error(error_kind::validation, "\"plan_yaml\" must be a string holding the plan's YAML", req_);
        request.plan_yaml = value.get<std::string>();
      } else if (key == "time_scale") {
        if (!value.is_number())
          return error(error_kind::validation, "\"time_scale\" must be a number > 0, e.g. 0.25", req_);
        request.time_scale = value.get<double>();
      } else {
        return error(error_kind::validation,
                     fmt::format("unknown field \"{}\"; allowed: plan, plan_yaml, time_scale", key), req_);
      }
    }
    auto started = api_.runs.start(request);
    if (!started) {
      json body{{"error", started.error().message}};
      if (!started.error().problems.empty()) body["problems"] = started.error().problems;
      return json_response(http_status(started.error().kind), body, req_);
    }
    json runs = json::array();
    for (const auto& run : *started) runs.push_back({{"id", run.id}, {"gpu", run.device}});
    auto res = json_response(201, {{"id", started->front().id}, {"runs", runs}}, req_);
    res.set(http::field::location, fmt::format("{}/{}", runs_prefix, started->front().id));
    return res;
  }

  // 404 only for a run the store does not hold; a store that cannot be read is a 500, also when
  // only the run's phases, samples, verdicts or events cannot.
  http_response get_run(std::string_view id) {
    auto run = api_.store.get_run(id);
    if (!run) return error(run.error(), req_);
    auto phases = api_.store.phases(id);
    if (!phases) return error(phases.error(), req_);
    // The latest figures per scenario (samples after the last few intervals only: cheap on long runs).
    const std::optional<double> after =
        run->last_sample_t ? std::optional<double>(std::max(0.0, *run->last_sample_t - 60.0)) : std::nullopt;
    auto samples = api_.store.samples(id, after);
    if (!samples) return error(samples.error(), req_);
    auto verdicts = api_.store.verdicts(id);
    if (!verdicts) return error(verdicts.error(), req_);
    auto events = api_.store.events(id);
    if (!events) return error(events.error(), req_);
    const auto live = api_.runs.live(id);
    json out = run_summary(as_known(*run), live);
    out["live"] = live.has_value();
    out["provenance"] = detail::provenance_json(run->provenance);
    if (live) {
      out["phase"] = {{"index", live->phase_index}, {"name", live->phase_name}};
      out["stopping"] = live->stopping;
    }
    {
      json list = json::array();
      for (const auto& ph : *phases) {
        list.push_back({{"index", ph.index},
                        {"name", ph.name},
                        {"state", to_string(ph.state)},
                        {"started_at", iso(ph.started_at)},
                        {"ended_at", iso_or_null(ph.ended_at)}});
      }
      out["phases"] = list;
      if (!live && !phases->empty()) out["phase"] = {{"index", phases->back().index}, {"name", phases->back().name}};
    }
    {
      json figures = json::object();
      for (const auto& s : *samples) {
        figures[s.scenario] = {{"t_seconds", s.t_seconds},
                               {"context", s.context},
                               {"live_buffers", s.live_buffers},
                               {"live_bytes", s.live_bytes},
                               {"rss_bytes", s.rss_bytes},
                               {"copies_total", s.copies_total},
                               {"errors_total", s.errors_total},
                               {"latency_p50_seconds", s.latency_p50_seconds},
                               {"latency_p99_seconds", s.latency_p99_seconds},
                               {"iterations", s.iterations},
                               {"counters", json::parse(s.extra_json, nullptr, false)}};
        for (const char* histogram : {"latency_hist", "latency_buckets", "fence_wait_hist", "fence_wait_buckets"})
          figures[s.scenario]["counters"].erase(histogram);
      }
      out["scenarios"] = figures;
    }
    {
      json list = json::array();
      for (const auto& v : *verdicts) {
        list.push_back({{"threshold", v.threshold}, {"observed", v.observed}, {"passed", v.passed}});
      }
      out["verdicts"] = list;
    }
    {
      json list = json::array();
      const std::size_t from = events->size() > 20 ? events->size() - 20 : 0;
      for (std::size_t i = from; i < events->size(); ++i) {
        const auto& e = (*events)[i];
        list.push_back(
            {{"t_seconds", e.t_seconds}, {"level", e.level}, {"scenario", e.scenario}, {"message", e.message}});
      }
      out["recent_events"] = list;
    }
    return json_response(200, out, req_);
  }

  http_response stop_run(std::string_view id) {
    auto stopped = api_.runs.stop(id);
    if (!stopped) return error(stopped.error().kind, stopped.error().message, req_);
    return json_response(202, {{"id", id}, {"state", "stopping"}}, req_);
  }

  http_response gate(std::string_view id) {
    auto run = api_.store.get_run(id);
    if (!run) return error(run.error(), req_);
    const auto it = query_.find("format");
    const std::string format = it == query_.end() ? "json" : it->second;
    if (format != "json" && format != "table" && format != "junit") {
      return error(error_kind::validation, fmt::format("format '{}' is not one of json, table, junit", format), req_);
    }
    auto plan = scenarios::parse_plan(run->plan_text, run->plan_name);
    if (!plan)
      return error(error_kind::conflict,
                   fmt::format("run '{}': its stored plan does not parse: {}", id, plan.error().message), req_);
    // Evaluated, never stored: a GET changes nothing (the run's verdicts are its runner's).
    auto report = run_gate(api_.store, id, plan->thresholds);
    if (!report) return error(with_context(report.error(), "gate: ").error(), req_);
    if (format == "table") return make_response(200, format_gate_table(*report), "text/plain; charset=utf-8", req_);
    if (format == "junit") return make_response(200, gate_junit_xml(*report), "application/xml", req_);
    return make_response(200, gate_json(*report), "application/json", req_);
  }

  // `gpusoak report` built from the daemon's store by the same code as --db, so a report over the
  // API and one from a copy of runs.db are the same document.
  http_response report(std::string_view id) {
    if (auto run = api_.store.get_run(id); !run) return error(run.error(), req_);
    const auto it = query_.find("format");
    const std::string format = it == query_.end() ? "json" : it->second;
    if (format != "json" && format != "text" && format != "html") {
      return error(error_kind::validation, fmt::format("format '{}' is not one of json, text, html", format), req_);
    }
    auto built = load_report(api_.store, id);
    if (!built) return error(with_context(built.error(), "report: ").error(), req_);
    if (format == "text") return make_response(200, format_report_text(*built), "text/plain; charset=utf-8", req_);
    if (format == "html") return make_response(200, report_html(*built), "text/html; charset=utf-8", req_);
    return make_response(200, report_json(*built), "application/json", req_);
  }

  const http_request& req_;
  api_context& api_;
  std::map<std::string, std::string, std::less<>> query_;
};

}  // namespace

unsigned http_status(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::validation: return 400;
    case error_kind::not_found: return 404;
    case error_kind::conflict: return 409;
    case error_kind::unsupported: return 422;   // Unprocessable Content: well formed, not doable here
    case error_kind::out_of_space: return 507;  // Insufficient Storage
    case error_kind::out_of_memory:
    case error_kind::context_lost:
    case error_kind::unavailable: return 503;
    case error_kind::io:
    case error_kind::internal: return 500;
  }
  return 500;
}

http_response error_response(unsigned status, std::string_view message, unsigned version, bool keep_alive) {
  http_request req;
  req.version(version);
  req.keep_alive(keep_alive);
  return error(status, message, req);
}

http_response handle_request(const http_request& request, api_context& api) {
  http_response res;
  try {
    res = router(request, api).route();
  } catch (const std::exception& e) {
    res = error(500, fmt::format("internal error: {}", e.what()), request);
  }
  api.metrics.request_answered(res.result_int());
  return res;
}

}  // namespace gpusoak::harness
