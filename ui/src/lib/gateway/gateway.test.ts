import { describe, expect, it } from "vitest";
import type { BlockedWhyResponse, GatewayResponse, WafStatus, WhyRule } from "../bindings";
import {
  bytes, describeWafChange, emptyExclusion, falsePositiveRequest, falsePositiveRuleIds, isAnomalyEvaluation, isBlockedRecord,
  openness, rateText, reached, refusedAt, requestIdProblem, routePrefix, wafFormOf, wafRequestOf, wafVerdictLabel, wasBlockedByWaf,
} from "./gateway";

const waf: WafStatus = {
  engine: "ModSecurity v3.0.9 (Linux) with the OWASP Core Rule Set",
  mode: "blocking", paranoia_level: 1, inbound_threshold: 5, outbound_threshold: 4, generation: 7,
  exclusions: [{ path_prefix: "/api/search", rule_id: 942100, note: "search syntax" }],
};
const rule = (id: number): WhyRule => ({ id, message: `rule ${id}`, severity: 2, variable: "ARGS:q" });
const why = (over: Partial<BlockedWhyResponse>): BlockedWhyResponse => ({
  request_id: "r1", time: "2026-01-01T00:00:00Z", is_gateway: true, source_ip: "10.0.0.9", method: "GET", path: "/api/orders",
  route: "orders", status: 403, reason: "waf", detail: null, actor_kind: "anonymous", actor_id: "", actor_name: "",
  token_check: null, decision: null, waf_verdict: "blocked", waf_anomaly_score: 10, waf_rules: [], bot: null, bot_score: null, tls_fingerprint: null, matched: null,
  rate_source_count: null, rate_source_quota: null, rate_identity_count: null, rate_identity_quota: null, audit_seq: 3, ...over,
});

describe("the WAF form", () => {
  // proves: GW-4
  it("turns the settings read into the same settings, made from their generation", () => {
    const { request, errors } = wafRequestOf(wafFormOf(waf), waf.generation);
    expect(errors).toEqual({});
    expect(request).toEqual({
      mode: "blocking", paranoia_level: 1, inbound_threshold: 5, outbound_threshold: 4,
      exclusions: [{ path_prefix: "/api/search", rule_id: 942100, note: "search syntax" }], base_generation: 7,
    });
  });

  // proves: GW-4
  it("refuses thresholds outside 1..1000 and paranoia outside 1..4 before sending", () => {
    for (const bad of [0, 1001, -3, 2.5, "", null, "abc"]) {
      const { request, errors } = wafRequestOf({ ...wafFormOf(waf), inbound_threshold: bad }, 7);
      expect(request).toBeNull();
      expect(errors.inbound_threshold).toMatch(/1 to 1000/);
    }
    expect(wafRequestOf({ ...wafFormOf(waf), outbound_threshold: 1001 }, 7).errors.outbound_threshold).toBeDefined();
    expect(wafRequestOf({ ...wafFormOf(waf), paranoia_level: 5 }, 7).errors.paranoia_level).toBeDefined();
    expect(wafRequestOf({ ...wafFormOf(waf), mode: "on" }, 7).errors.mode).toBeDefined();
    const edges = wafRequestOf({ ...wafFormOf(waf), inbound_threshold: "1", outbound_threshold: 1000, paranoia_level: "4" }, 7);
    expect(edges.request).toMatchObject({ inbound_threshold: 1, outbound_threshold: 1000, paranoia_level: 4 });
  });

  // proves: GW-4
  it("checks each exclusion, drops blank rows and trims what is kept", () => {
    const form = { ...wafFormOf(waf), exclusions: [
      { path_prefix: " /api/upload ", rule_id: "920420", note: " uploads " }, emptyExclusion(),
    ] };
    expect(wafRequestOf(form, 7).request?.exclusions).toEqual([{ path_prefix: "/api/upload", rule_id: 920420, note: "uploads" }]);
    const bad = wafRequestOf({ ...wafFormOf(waf), exclusions: [
      { path_prefix: "api", rule_id: 1, note: "" },
      { path_prefix: "/a b", rule_id: 0, note: "" },
      { path_prefix: "/x", rule_id: 5, note: "n".repeat(501) },
      { path_prefix: "/x", rule_id: 5, note: "" },
    ] }, 7);
    expect(bad.request).toBeNull();
    expect(Object.keys(bad.errors).sort()).toEqual([
      "exclusions.0.path_prefix", "exclusions.1.path_prefix", "exclusions.1.rule_id", "exclusions.2.note", "exclusions.3.rule_id",
    ]);
  });

  // proves: GW-4
  it("says what a change does before it is made", () => {
    const base = wafRequestOf(wafFormOf(waf), 7).request!;
    expect(describeWafChange(waf, base)).toEqual({ lines: [], weakens: false });
    const detect = describeWafChange(waf, { ...base, mode: "detect_only" });
    expect(detect.lines).toEqual(["Blocking → Detect only: attacks will be recorded but no longer refused"]);
    expect(detect.weakens).toBe(true);
    const stricter = describeWafChange({ ...waf, mode: "detect_only" }, { ...base, paranoia_level: 2, inbound_threshold: 3 });
    expect(stricter.lines).toEqual([
      "Detect only → Blocking: attacks will be refused, not only recorded",
      "Paranoia level 1 → 2: more rules apply (more attacks caught, and more false positives)",
      "Inbound anomaly threshold 5 → 3: a request is refused at a lower score (stricter)",
    ]);
    expect(stricter.weakens).toBe(false);
    const swapped = describeWafChange(waf, { ...base, exclusions: [{ path_prefix: "/api", rule_id: 941100, note: "" }] });
    expect(swapped.lines).toEqual(["Rule 941100 switched off under /api", "Rule 942100 switched back on under /api/search"]);
    expect(swapped.weakens).toBe(true);
    expect(describeWafChange(waf, { ...base, mode: "off" }).lines[0]).toBe("Blocking → Off: requests will no longer be inspected at all");
  });
});

describe("a false positive", () => {
  // proves: GW-9
  it("switches off the rules that matched, never the anomaly evaluation", () => {
    for (const id of [949110, 949111, 959100, 980130, 980170]) expect(isAnomalyEvaluation(id)).toBe(true);
    for (const id of [942100, 941100, 920420, 948999, 950000, 981000]) expect(isAnomalyEvaluation(id)).toBe(false);
    expect(falsePositiveRuleIds([rule(942100), rule(949110), rule(942190), rule(942100), rule(980130), rule(959100)]))
      .toEqual([942100, 942190]);
    expect(falsePositiveRuleIds([rule(949110), rule(980130)])).toEqual([]);
  });

  // proves: GW-9
  it("adds one exclusion per rule under the route's prefix, keeping the rest, from the generation read", () => {
    const { request, added } = falsePositiveRequest(waf, "/api/search", [942100, 942190], "false positive: request r1");
    expect(added).toEqual([942190]);
    expect(request).toEqual({
      mode: "blocking", paranoia_level: 1, inbound_threshold: 5, outbound_threshold: 4, base_generation: 7,
      exclusions: [
        { path_prefix: "/api/search", rule_id: 942100, note: "search syntax" },
        { path_prefix: "/api/search", rule_id: 942190, note: "false positive: request r1" },
      ],
    });
    expect(falsePositiveRequest(waf, "/api/orders", [942100], "").added).toEqual([942100]);
  });

  // proves: GW-9
  it("finds the route's prefix by name, and offers itself only for the WAF's own refusals at the gateway", () => {
    const gateway: GatewayResponse = { is_running: true, listen: "0.0.0.0:8443", waf, decoys: [], denied_tls_fingerprints: [], routes: [
      { name: "orders", path_prefix: "/api/orders", upstreams: [], exposure: "public", classification: "internal", description: "",
        is_signup: false, is_anonymous: false, max_body_bytes: 1024, content_types: [], rate_per_minute: 60,
        identity_rate_per_minute: 120, requests_last_minute: 0, blocked_last_minute: 0 },
    ] };
    expect(routePrefix(gateway, "orders")).toBe("/api/orders");
    expect(routePrefix(gateway, "gone")).toBeNull();
    expect(wasBlockedByWaf(why({}))).toBe(true);
    expect(wasBlockedByWaf(why({ waf_verdict: "would_block" }))).toBe(false);
    expect(wasBlockedByWaf(why({ is_gateway: false }))).toBe(false);
  });
});

describe("the why view", () => {
  // proves: GW-9
  it("names the WAF's verdict, including a request it never reached", () => {
    expect(wafVerdictLabel("blocked")).toBe("blocked");
    expect(wafVerdictLabel("would_block")).toBe("would block");
    expect(wafVerdictLabel("passed")).toBe("passed");
    expect(wafVerdictLabel(null)).toBe("not reached");
  });

  // proves: GW-9
  it("tells which stage refused a request, and which it never reached", () => {
    expect(refusedAt(why({}))).toBe("waf");
    expect(refusedAt(why({ reason: null }))).toBeNull();
    expect(refusedAt(why({ reason: "honeypot" }))).toBe("limits");
    expect(refusedAt(why({ reason: "rate_limit" }))).toBe("rate");
    expect(refusedAt(why({ reason: "rate_limit", rate_identity_count: 121 }))).toBe("token");
    const bot = why({ reason: "bot" });
    expect(reached(bot, "rate")).toBe(true);
    expect(reached(bot, "token")).toBe(false);
    expect(reached(bot, "waf")).toBe(false);
    const denied = why({ reason: "authorization" });
    expect(["limits", "rate", "token", "decision"].every((s) => reached(denied, s as "limits"))).toBe(true);
    expect(reached(denied, "waf")).toBe(false);
    expect(reached(why({ reason: null }), "waf")).toBe(true);
  });

  // proves: GW-9
  it("tells rate limits as count against quota", () => {
    expect(rateText(61, 60)).toBe("61 of 60 a minute");
    expect(rateText(12.345, 60)).toBe("12.3 of 60 a minute");
    expect(rateText(null, null)).toBe("—");
  });

  // proves: GW-9
  it("offers the why of refused records only", () => {
    expect(isBlockedRecord({ outcome: "denied", details: null })).toBe(true);
    expect(isBlockedRecord({ outcome: "rejected", details: {} })).toBe(true);
    expect(isBlockedRecord({ outcome: "failed", details: { blocked: "waf" } })).toBe(true);
    expect(isBlockedRecord({ outcome: "success", details: { blocked: "" } })).toBe(false);
    expect(isBlockedRecord({ outcome: "success", details: null })).toBe(false);
  });

  // proves: GW-9
  it("checks a typed request id as the Rust side does", () => {
    expect(requestIdProblem(" 01J9Z-abc_d ")).toBeNull();
    expect(requestIdProblem("  ")).toMatch(/Type/);
    expect(requestIdProblem("a/b")).toMatch(/1 to 64/);
    expect(requestIdProblem("x".repeat(65))).toMatch(/1 to 64/);
  });
});

describe("the inventory", () => {
  // proves: GW-7
  it("shows body limits and who may come in unannounced", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(65536)).toBe("64 KiB");
    expect(bytes(1536 * 1024)).toBe("1.5 MiB");
    expect(openness({ is_signup: true, is_anonymous: true })).toBe("sign-up, anonymous");
    expect(openness({ is_signup: false, is_anonymous: true })).toBe("anonymous");
    expect(openness({ is_signup: false, is_anonymous: false })).toBe("no");
  });
});
