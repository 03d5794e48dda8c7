import { afterEach, describe, expect, it, vi } from "vitest";
import type { AttributeDeclaration, UserResponse, UserTypeDefinition } from "../bindings";
import {
  attributesOf, changesOf, checkDisplayName, formOf, inputOf, parseAttribute, parseEntitlements, sameEditable, sameValue,
  textOf,
} from "./editing";
import {
  STATUSES, emptyFilters, filterProblem, isNearEnd, mergePage, queryOf, removeUser, replaceUser,
} from "./filters";
import { Debouncer, Latest } from "./requests";

const decl = (name: string, kind: AttributeDeclaration["kind"], is_required = false, max_length?: number): AttributeDeclaration =>
  max_length === undefined ? { name, kind, is_required } : { name, kind, is_required, max_length };

const clinician: UserTypeDefinition = {
  name: "clinician", description: "", sign_in: ["password"], second_factor: "required",
  attributes: [decl("department", "string", true, 10), decl("grade", "long"), decl("on_call", "boolean"), decl("wards", "string_set")],
};
const patient: UserTypeDefinition = {
  name: "patient", description: "", sign_in: ["email_code"], second_factor: "optional", attributes: [decl("nhs", "string")],
};
const types = [clinician, patient];

function user(over: Partial<UserResponse> = {}): UserResponse {
  return {
    id: "u1", user_type: "clinician", status: "active", display_name: "Ada", email: "ada@example.org",
    is_email_verified: true, phone: null, is_phone_verified: false,
    attributes: { department: "cardio", grade: 3, wards: ["b", "a"] }, entitlements: ["x:read"], source: "local",
    locked_until: null, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-02T00:00:00.123456Z", ...over,
  };
}

describe("user filters", () => {
  it("send only what is set, trimmed", () => {
    expect(queryOf(emptyFilters(), "all")).toEqual({});
    expect(queryOf({ q: " ad ", user_type: "clinician", status: "locked", attribute: " dept:x ", entitlement: "" }, "all"))
      .toEqual({ q: "ad", user_type: "clinician", status: "locked", attribute: "dept:x" });
  });
  it("list pending users on the pending tab, whatever the status filter says", () => {
    expect(queryOf({ ...emptyFilters(), status: "active" }, "pending")).toEqual({ status: "pending" });
  });
  it("offer every status", () => {
    expect(STATUSES).toEqual(["active", "pending", "locked", "disabled"]);
  });
  it("want an attribute as name:value", () => {
    expect(filterProblem(emptyFilters())).toBeNull();
    expect(filterProblem({ ...emptyFilters(), attribute: "department:cardio" })).toBeNull();
    for (const bad of ["cardio", ":cardio", "department:"]) expect(filterProblem({ ...emptyFilters(), attribute: bad })).toMatch(/name:value/);
  });
});

describe("the user list", () => {
  const u = (id: string) => user({ id });
  it("appends pages without repeating a user", () => {
    expect(mergePage([u("a"), u("b")], [u("b"), u("c")]).map((x) => x.id)).toEqual(["a", "b", "c"]);
  });
  it("replaces and removes one user", () => {
    const list = [u("a"), u("b")];
    expect(replaceUser(list, user({ id: "b", display_name: "Bo" }))[1].display_name).toBe("Bo");
    expect(removeUser(list, "a").map((x) => x.id)).toEqual(["b"]);
  });
  it("fetches more near the end of the scroll", () => {
    expect(isNearEnd(0, 500, 3000)).toBe(false);
    expect(isNearEnd(2200, 500, 3000)).toBe(true);
  });
});

describe("superseded requests", () => {
  it("drop a slow old answer once a newer search started", async () => {
    const latest = new Latest();
    let shown = "";
    const search = async (q: string, ms: number) => {
      const current = latest.next();
      await new Promise((r) => setTimeout(r, ms));
      if (current()) shown = q;
    };
    await Promise.all([search("a", 30), search("ad", 1)]);
    expect(shown).toBe("ad");
  });
  it("keep the next page of the same search, not of an older one", () => {
    const latest = new Latest();
    latest.next();
    const page2 = latest.same();
    expect(page2()).toBe(true);
    latest.next();
    expect(page2()).toBe(false);
    const later = latest.same();
    latest.cancel();
    expect(later()).toBe(false);
  });
});

describe("debouncing", () => {
  afterEach(() => vi.useRealTimers());
  it("runs the last input once typing pauses", () => {
    vi.useFakeTimers();
    const d = new Debouncer(250);
    const runs: string[] = [];
    d.schedule(() => runs.push("a"));
    vi.advanceTimersByTime(200);
    d.schedule(() => runs.push("ad"));
    expect(d.isPending).toBe(true);
    vi.advanceTimersByTime(249);
    expect(runs).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(runs).toEqual(["ad"]);
    d.schedule(() => runs.push("x"));
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(runs).toEqual(["ad"]);
  });
});

describe("attribute inputs", () => {
  const [department, grade, onCall, wards] = clinician.attributes;
  it("show stored values", () => {
    expect(inputOf(wards, ["a", "b"])).toBe("a, b");
    expect(inputOf(grade, 3)).toBe("3");
    expect(inputOf(onCall, true)).toBe(true);
    expect(inputOf(onCall, undefined)).toBeNull();
    expect(inputOf(department, undefined)).toBe("");
    expect(textOf(["a", "b"])).toBe("a, b");
    expect(textOf(false)).toBe("no");
    expect(textOf(undefined)).toBe("—");
  });
  it("are typed by their declaration", () => {
    expect(parseAttribute(grade, " 42 ")).toEqual({ value: 42 });
    expect(parseAttribute(grade, "-7")).toEqual({ value: -7 });
    expect(parseAttribute(grade, "4.5").error).toBe("must be a whole number");
    expect(parseAttribute(grade, "abc").error).toBe("must be a whole number");
    expect(parseAttribute(grade, "99999999999999999999").error).toMatch(/between/);
    expect(parseAttribute(wards, "b, a, b ,")).toEqual({ value: ["a", "b"] });
    expect(parseAttribute(onCall, false)).toEqual({ value: false });
    expect(parseAttribute(onCall, null)).toEqual({});
    expect(parseAttribute(department, "cardiology!")).toEqual({ error: "is longer than 10 characters" });
    expect(parseAttribute(department, "a\u0007b").error).toMatch(/control/);
    expect(parseAttribute(department, "éééééééééé")).toEqual({ value: "éééééééééé" });
  });
  it("say when a required one is missing and leave optional ones unset", () => {
    expect(parseAttribute(department, "  ")).toEqual({ error: "is required" });
    expect(parseAttribute(grade, "")).toEqual({});
    const { attributes, errors } = attributesOf(clinician.attributes, { grade: "x", wards: "" });
    expect(attributes).toEqual({});
    expect(errors).toEqual({ "attributes.department": "is required", "attributes.grade": "must be a whole number" });
  });
  it("bound sets", () => {
    const many = Array.from({ length: 33 }, (_, i) => `w${i}`).join(",");
    expect(parseAttribute(wards, many).error).toMatch(/more than 32/);
  });
});

describe("entitlements and names", () => {
  it("take lines or commas, sorted and once each", () => {
    expect(parseEntitlements("b:read, a:write\n\nb:read")).toEqual({ entitlements: ["a:write", "b:read"], error: null });
    expect(parseEntitlements("Bad Thing").error).toMatch(/a-z/);
    expect(parseEntitlements(Array.from({ length: 65 }, (_, i) => `e${i}`).join("\n")).error).toMatch(/at most 64/);
  });
  it("check the display name", () => {
    expect(checkDisplayName(" ")).toBe("is required");
    expect(checkDisplayName("x".repeat(129))).toMatch(/128/);
    expect(checkDisplayName("Ada")).toBeNull();
  });
  it("compare sets whatever their order", () => {
    expect(sameValue(["a", "b"], ["b", "a"])).toBe(true);
    expect(sameValue(["a"], ["a", "b"])).toBe(false);
    expect(sameValue(1, 1)).toBe(true);
  });
});

describe("the edit request", () => {
  it("is empty when nothing changed (sets in another order included)", () => {
    const form = formOf(user(), types);
    expect(form).toEqual({
      display_name: "Ada", user_type: "clinician", entitlements: "x:read",
      attributes: { department: "cardio", grade: "3", on_call: null, wards: "b, a" },
    });
    expect(changesOf(user(), form, types)).toEqual({ request: null, errors: {} });
  });
  it("holds only the changed fields, and every attribute when one changed", () => {
    const form = formOf(user(), types);
    form.display_name = " Ada L ";
    form.attributes.grade = "4";
    const { request, errors } = changesOf(user(), form, types);
    expect(errors).toEqual({});
    expect(request).toEqual({ display_name: "Ada L", attributes: { department: "cardio", grade: 4, wards: ["a", "b"] } });
  });
  it("sends the new type with the attributes its declarations take", () => {
    const form = formOf(user(), types);
    form.user_type = "patient";
    form.attributes.nhs = "123";
    expect(changesOf(user(), form, types).request).toEqual({ user_type: "patient", attributes: { nhs: "123" } });
    form.user_type = "ghost";
    expect(changesOf(user(), form, types).errors.user_type).toBeTruthy();
  });
  it("changes entitlements only when the set differs", () => {
    const form = formOf(user({ entitlements: ["b", "a"] }), types);
    form.entitlements = "a, b";
    expect(changesOf(user({ entitlements: ["b", "a"] }), form, types).request).toBeNull();
    form.entitlements = "a";
    expect(changesOf(user({ entitlements: ["b", "a"] }), form, types).request).toEqual({ entitlements: ["a"] });
  });
  it("names each field that is wrong, as the server names it", () => {
    const form = formOf(user(), types);
    form.display_name = "";
    form.attributes.department = "";
    form.entitlements = "NOPE";
    expect(Object.keys(changesOf(user(), form, types).errors).sort()).toEqual(["attributes.department", "display_name", "entitlements"]);
  });
  it("leaves attributes alone when the type's declarations are not known", () => {
    const form = formOf(user(), []);
    expect(form.attributes).toEqual({});
    form.display_name = "Bea";
    expect(changesOf(user(), form, [])).toEqual({ request: { display_name: "Bea" }, errors: {} });
  });
});

describe("rebasing an edit", () => {
  it("is safe only when the editable fields are the same", () => {
    const locked = user({ status: "locked", updated_at: "2026-01-03T00:00:00Z", attributes: { ...user().attributes, wards: ["a", "b"] } });
    expect(sameEditable(user(), locked)).toBe(true);
    expect(sameEditable(user(), user({ display_name: "Someone else's edit" }))).toBe(false);
    expect(sameEditable(user(), user({ entitlements: [] }))).toBe(false);
    expect(sameEditable(user(), user({ attributes: {} }))).toBe(false);
  });
});
