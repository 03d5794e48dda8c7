import { describe, expect, it } from "vitest";
import type { RegistrationFlowDefinition, UserTypeDefinition } from "../bindings";
import { PROOFS, newFlow, orderedProofs, previewSteps, sameFlow, withAttribute, withProof } from "./flows";

const type: UserTypeDefinition = {
  name: "clinician", description: "", sign_in: ["password"], second_factor: "required",
  attributes: [
    { name: "department", kind: "string", is_required: true },
    { name: "staff_number", kind: "long", is_required: false },
  ],
};
const flow = (over: Partial<RegistrationFlowDefinition> = {}): RegistrationFlowDefinition =>
  ({ user_type: "clinician", is_open: true, proofs: ["email"], requires_approval: false, attributes: [], ...over });

describe("sign-up flows", () => {
  it("list the proofs in the order the server asks for them", () => {
    // gatehouse-identity flow.rs: PROOF_ORDER.
    expect(PROOFS).toEqual(["email", "phone", "password", "totp"]);
    expect(orderedProofs(["totp", "email", "totp"])).toEqual(["email", "totp"]);
    expect(withProof(["totp"], "phone", true)).toEqual(["phone", "totp"]);
    expect(withProof(["email", "phone"], "email", false)).toEqual(["phone"]);
  });

  it("keep attributes in the type's order", () => {
    expect(withAttribute(flow({ attributes: ["staff_number"] }), type, "department", true)).toEqual(["department", "staff_number"]);
    expect(withAttribute(flow({ attributes: ["department", "staff_number"] }), type, "department", false)).toEqual(["staff_number"]);
  });

  it("start a type without a flow closed and approved by hand", () => {
    expect(newFlow(type)).toEqual({ user_type: "clinician", is_open: false, proofs: ["email"], requires_approval: true, attributes: [] });
  });

  it("preview the steps a new user goes through", () => {
    expect(previewSteps(flow({ proofs: ["phone", "email"], requires_approval: true, attributes: ["department", "staff_number"] }))).toEqual([
      "Enter name, email address, phone number, department and staff number",
      "Confirm the email address with a code sent to it",
      "Confirm the phone number with a code sent by SMS",
      "Wait for an administrator's approval",
      "Sign in",
    ]);
    expect(previewSteps(flow({ proofs: ["totp", "password", "email"] }))).toEqual([
      "Enter name and email address",
      "Confirm the email address with a code sent to it",
      "Choose a password",
      "Set up an authenticator app and enter a code from it",
      "Sign in",
    ]);
  });

  it("tell a changed draft from the saved flow", () => {
    expect(sameFlow(flow({ proofs: ["phone", "email"] }), flow({ proofs: ["email", "phone"] }))).toBe(true);
    expect(sameFlow(flow(), flow({ is_open: false }))).toBe(false);
    expect(sameFlow(flow({ attributes: ["a"] }), flow())).toBe(false);
  });
});
