// The Gateway page and the "why" view (GW-4, GW-7, GW-9): the WAF's settings
// form as a request, a change told in words before it is made, and which of a
// blocked request's matched rules a false positive switches off. The server
// checks every request again and decides; these only say early what it would.
import type {
  AuditRecord, BlockedWhyResponse, GatewayResponse, GatewayRoute, UpdateWafRequest, WafExclusion, WafStatus, WhyRule,
} from "../bindings";

export const WAF_MODES = ["off", "detect_only", "blocking"] as const;
export type WafMode = (typeof WAF_MODES)[number];
export const MODE_LABELS: Record<WafMode, string> = { off: "Off", detect_only: "Detect only", blocking: "Blocking" };
/** How much a mode protects: a change to a lower one weakens the WAF. */
const MODE_STRENGTH: Record<WafMode, number> = { off: 0, detect_only: 1, blocking: 2 };
const isMode = (mode: string): mode is WafMode => (WAF_MODES as readonly string[]).includes(mode);
export const modeLabel = (mode: string) => (isMode(mode) ? MODE_LABELS[mode] : mode);

export const PARANOIA_LEVELS = [1, 2, 3, 4] as const;
export const THRESHOLD_MIN = 1;
export const THRESHOLD_MAX = 1000;
export const MAX_NOTE = 500;
export const MAX_RULE_ID = 999_999;
/** What the WAF accepts as an exclusion's path prefix. */
export const PATH_PREFIX = /^\/[A-Za-z0-9/._~-]*$/;

/** One exclusion as typed (the rule id is empty until typed). */
export type ExclusionRow = { path_prefix: string; rule_id: number | string | null; note: string };
/** The WAF form as typed. */
export type WafForm = {
  mode: string;
  paranoia_level: number | string | null;
  inbound_threshold: number | string | null;
  outbound_threshold: number | string | null;
  exclusions: ExclusionRow[];
};
/** What is wrong, by field: `mode`, `paranoia_level`, `inbound_threshold`, `outbound_threshold`, `exclusions.<n>.<field>`. */
export type WafErrors = Record<string, string>;

export function wafFormOf(waf: WafStatus): WafForm {
  return {
    mode: waf.mode,
    paranoia_level: waf.paranoia_level,
    inbound_threshold: waf.inbound_threshold,
    outbound_threshold: waf.outbound_threshold,
    exclusions: waf.exclusions.map((e) => ({ ...e })),
  };
}

export const emptyExclusion = (): ExclusionRow => ({ path_prefix: "", rule_id: null, note: "" });

/** A whole number as typed (a number input may answer a number, a string or null), or null. */
function wholeNumber(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" && value.trim() === "") return null;
  const n = typeof value === "string" ? Number(value.trim()) : value;
  return Number.isSafeInteger(n) ? n : null;
}

function inRange(value: number | string | null, min: number, max: number): number | null {
  const n = wholeNumber(value);
  return n !== null && n >= min && n <= max ? n : null;
}

const isBlank = (row: ExclusionRow) => row.path_prefix.trim() === "" && wholeNumber(row.rule_id) === null && row.note.trim() === "";

/**
 * The form as the request that makes it the WAF's next settings, made from
 * `base_generation`; null, with what is wrong, when it cannot be sent.
 * Rows left blank are dropped.
 */
export function wafRequestOf(form: WafForm, base_generation: number): { request: UpdateWafRequest | null; errors: WafErrors } {
  const errors: WafErrors = {};
  if (!isMode(form.mode)) errors.mode = "off, detect only or blocking";
  const paranoia = inRange(form.paranoia_level, 1, 4);
  if (paranoia === null) errors.paranoia_level = "a level from 1 to 4";
  const inbound = inRange(form.inbound_threshold, THRESHOLD_MIN, THRESHOLD_MAX);
  if (inbound === null) errors.inbound_threshold = `a whole number from ${THRESHOLD_MIN} to ${THRESHOLD_MAX}`;
  const outbound = inRange(form.outbound_threshold, THRESHOLD_MIN, THRESHOLD_MAX);
  if (outbound === null) errors.outbound_threshold = `a whole number from ${THRESHOLD_MIN} to ${THRESHOLD_MAX}`;

  const exclusions: WafExclusion[] = [];
  const seen = new Set<string>();
  form.exclusions.forEach((row, n) => {
    if (isBlank(row)) return;
    const path_prefix = row.path_prefix.trim();
    const rule_id = inRange(row.rule_id, 1, MAX_RULE_ID);
    const note = row.note.trim();
    if (!PATH_PREFIX.test(path_prefix)) errors[`exclusions.${n}.path_prefix`] = "a path starting with /, of letters, digits and / - . _ ~";
    if (rule_id === null) errors[`exclusions.${n}.rule_id`] = `a rule id from 1 to ${MAX_RULE_ID}`;
    if (note.length > MAX_NOTE) errors[`exclusions.${n}.note`] = `at most ${MAX_NOTE} characters`;
    if (rule_id === null) return;
    const key = `${path_prefix}\u0000${rule_id}`;
    if (seen.has(key)) errors[`exclusions.${n}.rule_id`] = "this rule is already excluded under this prefix above";
    seen.add(key);
    exclusions.push({ path_prefix, rule_id, note });
  });

  if (Object.keys(errors).length > 0 || paranoia === null || inbound === null || outbound === null) return { request: null, errors };
  return {
    request: { mode: form.mode, paranoia_level: paranoia, inbound_threshold: inbound, outbound_threshold: outbound, exclusions, base_generation },
    errors,
  };
}

function describeMode(from: string, to: WafMode): string {
  const head = `${modeLabel(from)} → ${MODE_LABELS[to]}`;
  if (to === "off") return `${head}: requests will no longer be inspected at all`;
  if (to === "detect_only") {
    return from === "blocking"
      ? `${head}: attacks will be recorded but no longer refused`
      : `${head}: requests will be inspected and attacks recorded, but not refused`;
  }
  return from === "detect_only"
    ? `${head}: attacks will be refused, not only recorded`
    : `${head}: requests will be inspected and attacks refused`;
}

/** A change to the WAF in words, one line each, and whether it lets more through than before. */
export function describeWafChange(before: WafStatus, after: UpdateWafRequest): { lines: string[]; weakens: boolean } {
  const lines: string[] = [];
  let weakens = false;
  if (after.mode !== before.mode && isMode(after.mode)) {
    lines.push(describeMode(before.mode, after.mode));
    if (isMode(before.mode) && MODE_STRENGTH[after.mode] < MODE_STRENGTH[before.mode]) weakens = true;
  }
  if (after.paranoia_level !== before.paranoia_level) {
    const more = after.paranoia_level > before.paranoia_level;
    lines.push(`Paranoia level ${before.paranoia_level} → ${after.paranoia_level}: ${more
      ? "more rules apply (more attacks caught, and more false positives)"
      : "fewer rules apply (fewer false positives, and fewer attacks caught)"}`);
    if (!more) weakens = true;
  }
  if (after.inbound_threshold !== before.inbound_threshold) {
    const higher = after.inbound_threshold > before.inbound_threshold;
    lines.push(`Inbound anomaly threshold ${before.inbound_threshold} → ${after.inbound_threshold}: ${higher
      ? "a request must score higher to be refused (more lenient)"
      : "a request is refused at a lower score (stricter)"}`);
    if (higher) weakens = true;
  }
  if (after.outbound_threshold !== before.outbound_threshold) {
    const higher = after.outbound_threshold > before.outbound_threshold;
    lines.push(`Outbound anomaly threshold ${before.outbound_threshold} → ${after.outbound_threshold}: ${higher
      ? "a response must score higher to be withheld (more lenient)"
      : "a response is withheld at a lower score (stricter)"}`);
    if (higher) weakens = true;
  }
  const key = (e: WafExclusion) => `${e.path_prefix}\u0000${e.rule_id}`;
  const old = new Map(before.exclusions.map((e) => [key(e), e]));
  const next = new Map(after.exclusions.map((e) => [key(e), e]));
  for (const [k, e] of next) {
    const was = old.get(k);
    if (!was) {
      lines.push(`Rule ${e.rule_id} switched off under ${e.path_prefix}${e.note ? ` (${e.note})` : ""}`);
      weakens = true;
    } else if (was.note !== e.note) {
      lines.push(`Note of rule ${e.rule_id} under ${e.path_prefix}: ${e.note ? `“${e.note}”` : "removed"}`);
    }
  }
  for (const [k, e] of old) if (!next.has(k)) lines.push(`Rule ${e.rule_id} switched back on under ${e.path_prefix}`);
  return { lines, weakens };
}

/**
 * The CRS's anomaly-evaluation rules (949xxx inbound, 959xxx outbound, 980xxx
 * reporting): they match because others did, so excluding them would switch
 * off the WAF's verdict for the route, not the rule that misfired.
 */
export const isAnomalyEvaluation = (id: number) =>
  (id >= 949_000 && id < 950_000) || (id >= 959_000 && id < 960_000) || (id >= 980_000 && id < 981_000);

/** The matched rules a false positive switches off: each once, in order, but for the evaluation rules. */
export function falsePositiveRuleIds(rules: readonly WhyRule[]): number[] {
  const ids: number[] = [];
  for (const rule of rules) if (!isAnomalyEvaluation(rule.id) && !ids.includes(rule.id)) ids.push(rule.id);
  return ids;
}

/**
 * The WAF's settings as they are, plus an exclusion under `pathPrefix` for
 * each of `ruleIds` not excluded there already; made from the generation read.
 */
export function falsePositiveRequest(
  waf: WafStatus, pathPrefix: string, ruleIds: readonly number[], note: string,
): { request: UpdateWafRequest; added: number[] } {
  const already = new Set(waf.exclusions.filter((e) => e.path_prefix === pathPrefix).map((e) => e.rule_id));
  const added = ruleIds.filter((id, i) => !already.has(id) && ruleIds.indexOf(id) === i);
  const text = note.trim().slice(0, MAX_NOTE);
  return {
    request: {
      mode: waf.mode,
      paranoia_level: waf.paranoia_level,
      inbound_threshold: waf.inbound_threshold,
      outbound_threshold: waf.outbound_threshold,
      exclusions: [...waf.exclusions.map((e) => ({ ...e })), ...added.map((rule_id) => ({ path_prefix: pathPrefix, rule_id, note: text }))],
      base_generation: waf.generation,
    },
    added,
  };
}

/** The path prefix of the gateway route named `route`, or null when the inventory has none such. */
export function routePrefix(gateway: GatewayResponse, route: string): string | null {
  return gateway.routes.find((r) => r.name === route)?.path_prefix ?? null;
}

/** Whether a request is one the WAF refused at the gateway (a false positive can be declared). */
export const wasBlockedByWaf = (why: BlockedWhyResponse) => why.is_gateway && why.waf_verdict === "blocked";

export const WAF_VERDICTS: Record<string, string> = { blocked: "blocked", would_block: "would block", passed: "passed" };
/** The WAF's verdict in words; "not reached" when the request never got to it. */
export const wafVerdictLabel = (verdict: string | null) => (verdict === null ? "not reached" : WAF_VERDICTS[verdict] ?? verdict);

/** A rate limit's count against its quota: "12 of 60 a minute". */
export function rateText(count: number | null, quota: number | null): string {
  if (count === null && quota === null) return "—";
  const n = count === null ? "?" : String(Math.round(count * 10) / 10);
  return `${n} of ${quota ?? "?"} a minute`;
}

/** A size in bytes as people read it: 512 B, 64 KiB, 1.5 MiB. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Math.round(value * 10) / 10} ${units[unit]}`;
}

/** Who may come in without an account or a credential. */
export function openness(route: Pick<GatewayRoute, "is_signup" | "is_anonymous">): string {
  const open = [route.is_signup ? "sign-up" : "", route.is_anonymous ? "anonymous" : ""].filter(Boolean);
  return open.length ? open.join(", ") : "no";
}

/** Whether an audit record is of a refused request (its why can be asked). */
export function isBlockedRecord(record: Pick<AuditRecord, "outcome" | "details">): boolean {
  if (isRefusedOutcome(record.outcome)) return true;
  const details = record.details;
  if (typeof details !== "object" || details === null) return false;
  const blocked = (details as Record<string, unknown>).blocked;
  return blocked === true || (typeof blocked === "string" && blocked.length > 0);
}

export const isRefusedOutcome = (outcome: string) => outcome === "denied" || outcome === "rejected";

/** What is wrong with a request id as typed, or null (as the Rust side checks it). */
export function requestIdProblem(text: string): string | null {
  const id = text.trim();
  if (!id) return "Type a request id.";
  if (id.length > 64 || !/^[A-Za-z0-9_-]+$/.test(id)) return "A request id is 1 to 64 letters, digits, - and _.";
  return null;
}

/** A request's way through, in order (each stage named by what it checks). */
export const STAGES = ["limits", "rate", "token", "decision", "waf"] as const;
export type Stage = (typeof STAGES)[number];
const REFUSED_AT: Record<string, Stage> = {
  bad_input: "limits", honeypot: "limits", unknown_route: "limits", bot: "rate", rate_limit: "rate",
  authentication: "token", authorization: "decision", waf: "waf", timeout: "waf",
};

/** The stage that refused the request, from its blocked reason; null when none did. */
export function refusedAt(why: Pick<BlockedWhyResponse, "reason" | "rate_identity_count">): Stage | null {
  if (!why.reason) return null;
  // An identity over its quota is counted after its token is checked.
  if (why.reason === "rate_limit" && why.rate_identity_count !== null) return "token";
  return REFUSED_AT[why.reason] ?? null;
}

/** Whether the request got as far as `stage` (the stage that refused it included). */
export function reached(why: Pick<BlockedWhyResponse, "reason" | "rate_identity_count">, stage: Stage): boolean {
  const at = refusedAt(why);
  return at === null || STAGES.indexOf(stage) <= STAGES.indexOf(at);
}
