// Sign-up flows: the proofs in the order a person makes them, a new flow's
// starting point, and the steps a flow takes a new user through (the preview
// beside the editor). The server's gatehouse-identity flow.rs checks a flow
// against its type and decides; nothing here refuses one.
import type { Proof, RegistrationFlowDefinition, UserTypeDefinition } from "../bindings";
import { listing } from "../format";

/** Every proof, in the fixed order a sign-up asks for them (complete: a Record over Proof). */
export const PROOF_LABELS: Record<Proof, string> = {
  email: "Email address, confirmed with a code",
  phone: "Phone number, confirmed with a code by SMS",
  password: "Password",
  totp: "Authenticator app (TOTP)",
};
export const PROOFS = Object.keys(PROOF_LABELS) as Proof[];

/** The proofs listed once each, in the order they are made. */
export function orderedProofs(proofs: readonly Proof[]): Proof[] {
  return PROOFS.filter((p) => proofs.includes(p));
}

export function withProof(proofs: readonly Proof[], proof: Proof, on: boolean): Proof[] {
  return orderedProofs(on ? [...proofs, proof] : proofs.filter((p) => p !== proof));
}

/** The type's attributes the flow asks for, in the order the type declares them. */
export function withAttribute(flow: RegistrationFlowDefinition, type: UserTypeDefinition | null, name: string, on: boolean): string[] {
  const chosen = new Set(flow.attributes);
  if (on) chosen.add(name);
  else chosen.delete(name);
  const declared = type?.attributes.map((a) => a.name) ?? [];
  return [...declared.filter((n) => chosen.has(n)), ...[...chosen].filter((n) => !declared.includes(n))];
}

/** Where a type without a flow starts: closed, an email proof, approved by hand. */
export function newFlow(type: UserTypeDefinition): RegistrationFlowDefinition {
  return { user_type: type.name, is_open: false, proofs: ["email"], requires_approval: true, attributes: [] };
}

/** The steps a new user goes through, in order, as sentences. */
export function previewSteps(flow: RegistrationFlowDefinition): string[] {
  const proofs = orderedProofs(flow.proofs);
  const details = ["name"];
  if (proofs.includes("email")) details.push("email address");
  if (proofs.includes("phone")) details.push("phone number");
  details.push(...flow.attributes.map((a) => a.replace(/_/g, " ")));
  const steps = [`Enter ${listing(details)}`];
  for (const proof of proofs) {
    switch (proof) {
      case "email":
        steps.push("Confirm the email address with a code sent to it");
        break;
      case "phone":
        steps.push("Confirm the phone number with a code sent by SMS");
        break;
      case "password":
        steps.push("Choose a password");
        break;
      case "totp":
        steps.push("Set up an authenticator app and enter a code from it");
        break;
    }
  }
  if (flow.requires_approval) steps.push("Wait for an administrator's approval");
  steps.push("Sign in");
  return steps;
}

/** Whether two flows say the same (the editor's draft holds unsaved changes otherwise). */
export function sameFlow(a: RegistrationFlowDefinition, b: RegistrationFlowDefinition): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.user_type === b.user_type && a.is_open === b.is_open && a.requires_approval === b.requires_approval &&
    same(orderedProofs(a.proofs), orderedProofs(b.proofs)) && same([...a.attributes].sort(), [...b.attributes].sort());
}
