//! The Authorizer: the active policy set, sliced by action, answering for
//! Gatehouse's own routes and for the decision API.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Context, Decision as CedarDecision, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, PolicySet, PrincipalConstraint, Request, RestrictedExpression,
    Schema,
};
use gatehouse_types::PolicyInfo;

use crate::{Action, AuthzError, ParsedPolicies};

const SCHEMA: &str = include_str!("schema.cedarschema");
/// The first policy version: the built-in roles (AZ-8).
pub const BUILTIN_POLICIES: &str = include_str!("builtin.cedar");
/// The roles tokens are minted with, each a `Role` entity.
pub const BUILTIN_ROLES: [&str; 4] = ["administrator", "auditor", "user", "service"];

/// The line of the schema the user types' attributes replace.
const USER_ATTRIBUTES: &str = "type UserAttributes = {};";

/// The kind of an attribute a user type declares, as Cedar types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrKind {
    String,
    Long,
    Bool,
    StringSet,
}

impl AttrKind {
    fn cedar(self) -> &'static str {
        match self {
            AttrKind::String => "String",
            AttrKind::Long => "Long",
            AttrKind::Bool => "Bool",
            AttrKind::StringSet => "Set<String>",
        }
    }
}

/// The schema's text with `UserAttributes` declaring `attributes`, each
/// optional. Names that are not `[A-Za-z0-9_]+` are left out (user types
/// only declare `[a-z][a-z0-9_]*`).
fn schema_with(attributes: &[(String, AttrKind)]) -> String {
    let fields: Vec<String> = attributes
        .iter()
        .filter(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .map(|(name, kind)| format!("  \"{name}\"?: {}", kind.cedar()))
        .collect();
    if fields.is_empty() {
        return SCHEMA.to_owned();
    }
    SCHEMA.replace(
        USER_ATTRIBUTES,
        &format!("type UserAttributes = {{\n{}\n}};", fields.join(",\n")),
    )
}

/// The schema and what is derived from it once: the action entities each
/// request needs (an action and the groups it is in).
pub struct Catalog {
    schema: Schema,
    /// The schema's text, user types' attributes included.
    text: String,
    /// Entity type names, parsed once: Cedar parses a name with its full
    /// grammar, which costs microseconds per call.
    type_names: HashMap<String, EntityTypeName>,
    action_entities: HashMap<String, Vec<Entity>>,
    action_names: Vec<String>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("actions", &self.action_names)
            .finish_non_exhaustive()
    }
}

pub(crate) fn uid(kind: &str, id: &str) -> Result<EntityUid, AuthzError> {
    let kind = EntityTypeName::from_str(kind)
        .map_err(|_| AuthzError::Request(format!("\"{kind}\" is not an entity type name")))?;
    let id = EntityId::from_str(id).map_err(|e| match e {})?;
    Ok(EntityUid::from_type_name_and_id(kind, id))
}

impl Catalog {
    pub fn load() -> Result<Self, AuthzError> {
        Self::load_with(&[])
    }

    /// The schema with the attributes the user types declare (`(name, kind)`,
    /// one kind per name).
    pub fn load_with(user_attributes: &[(String, AttrKind)]) -> Result<Self, AuthzError> {
        let text = schema_with(user_attributes);
        let (schema, _) =
            Schema::from_cedarschema_str(&text).map_err(|e| AuthzError::Schema(e.to_string()))?;
        let all = schema
            .action_entities()
            .map_err(|e| AuthzError::Schema(e.to_string()))?;
        let mut action_entities = HashMap::new();
        let mut action_names = Vec::new();
        for action in schema.actions() {
            let name = action.id().unescaped().to_owned();
            let mut chain = Vec::new();
            let mut seen = HashSet::new();
            let mut todo = vec![action.clone()];
            while let Some(next) = todo.pop() {
                if !seen.insert(next.clone()) {
                    continue;
                }
                if let Some(e) = all.get(&next) {
                    chain.push(e.clone());
                }
                if let Some(ancestors) = all.ancestors(&next) {
                    todo.extend(ancestors.cloned());
                }
            }
            action_names.push(name.clone());
            action_entities.insert(name, chain);
        }
        action_names.sort();
        let mut type_names: HashMap<String, EntityTypeName> = schema
            .entity_types()
            .map(|t| (t.to_string(), t.clone()))
            .collect();
        if let Ok(action) = EntityTypeName::from_str("Action") {
            type_names.insert("Action".into(), action);
        }
        Ok(Self {
            schema,
            text,
            type_names,
            action_entities,
            action_names,
        })
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The schema's text, user types' attributes included.
    pub fn schema_text(&self) -> &str {
        &self.text
    }

    /// Every action the schema declares, groups (`read`, `write`) included.
    pub fn action_names(&self) -> &[String] {
        &self.action_names
    }

    /// The uid `kind::"id"`, with the type name parsed once.
    pub(crate) fn uid(&self, kind: &str, id: &str) -> Result<EntityUid, AuthzError> {
        match self.type_names.get(kind) {
            Some(t) => Ok(EntityUid::from_type_name_and_id(
                t.clone(),
                EntityId::new(id),
            )),
            None => uid(kind, id),
        }
    }

    pub(crate) fn action_entities(&self, name: &str) -> Option<&[Entity]> {
        self.action_entities.get(name).map(Vec::as_slice)
    }
}

/// Who is calling one of Gatehouse's own routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCaller {
    /// The API token's id, or the OAuth client's.
    pub id: String,
    pub name: String,
    pub role: String,
    /// Set when the caller is an OAuth client calling with an access token.
    pub client: Option<ClientFacts>,
    /// Set when the caller is a person (ID-3): the `User` entity's attributes
    /// as the schema declares them, and their type (a parent, with the role).
    pub user: Option<UserFacts>,
}

/// What a decision knows of a person calling with their access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    pub user_type: String,
    pub attributes: Vec<(&'static str, AttrValue)>,
}

/// What a decision knows of an OAuth client calling with an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFacts {
    pub is_confidential: bool,
    /// The token's scopes.
    pub scopes: Vec<String>,
}

/// Where and when a call came from, and what it asks for that the route's
/// resource does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    pub source_ip: IpAddr,
    /// Unix seconds.
    pub time: i64,
    /// The role a new API token asks for (`api_tokens.create` only; its context
    /// type requires it, so a policy can refuse minting above the caller's rights).
    pub requested_role: Option<String>,
}

impl CallContext {
    pub fn new(source_ip: IpAddr, time: i64) -> Self {
        Self {
            source_ip,
            time,
            requested_role: None,
        }
    }
}

/// An attribute value of a resource entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    String(String),
    Long(i64),
    Bool(bool),
    Set(Vec<String>),
    /// A record (a user's `attributes`): names and values.
    Record(Vec<(String, AttrValue)>),
}

/// The item a route acts on (AZ-12): its canonical id and, when it exists, its
/// attributes as the schema declares them and the entities it is in. A target
/// that does not exist is passed without attributes, so a policy that reads
/// one errors, and an error denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub attributes: Option<Vec<(&'static str, AttrValue)>>,
    /// `(entity type, id)` of each parent (an API token is in its role).
    pub parents: Vec<(&'static str, String)>,
}

/// An answer, with the policies that determined it (AZ-3, AZ-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub is_allowed: bool,
    /// For an allow, the permits that matched; for a deny, the forbids that
    /// matched, or none when nothing permitted (deny by default).
    pub policies: Vec<String>,
    /// Policies that could not be evaluated (a missing attribute, say); they are
    /// skipped, which can only deny.
    pub errors: Vec<String>,
    /// A call to Gatehouse's own API that was denied because a policy errored
    /// (AZ-12), whatever the others said.
    pub is_denied_by_error: bool,
}

/// The active policies, ready to answer.
pub struct Engine {
    set: PolicySet,
    /// For each action, only the policies whose action scope can match it,
    /// grouped by their principal scope.
    slices: HashMap<String, Slice>,
    policies: Vec<PolicyInfo>,
    authorizer: cedar_policy::Authorizer,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("policies", &self.policies.len())
            .finish_non_exhaustive()
    }
}

/// One action's policies, by what their principal scope requires: nothing, a
/// type (`principal is T`), or an entity the principal is or is in (`principal
/// == E`, `principal in E`, `principal is T in E`). A request needs only the
/// groups its principal can satisfy.
#[derive(Default)]
struct Slice {
    any: Option<PolicySet>,
    by_type: HashMap<String, PolicySet>,
    by_entity: HashMap<EntityUid, PolicySet>,
}

enum Key {
    Any,
    Type(String),
    Entity(EntityUid),
}

fn principal_key(p: &cedar_policy::Policy) -> Key {
    match p.principal_constraint() {
        PrincipalConstraint::Any => Key::Any,
        PrincipalConstraint::Is(t) => Key::Type(t.to_string()),
        PrincipalConstraint::In(e)
        | PrincipalConstraint::Eq(e)
        | PrincipalConstraint::IsIn(_, e) => Key::Entity(e),
    }
}

fn set_of(policies: Vec<cedar_policy::Policy>) -> Result<PolicySet, AuthzError> {
    PolicySet::from_policies(policies).map_err(|e| AuthzError::Schema(e.to_string()))
}

type Groups<T> = HashMap<T, PolicySet>;

fn sets_of<T: std::hash::Hash + Eq>(
    groups: HashMap<T, Vec<cedar_policy::Policy>>,
) -> Result<Groups<T>, AuthzError> {
    groups
        .into_iter()
        .map(|(k, v)| Ok((k, set_of(v)?)))
        .collect()
}

impl Slice {
    fn build<'a>(
        policies: impl Iterator<Item = &'a cedar_policy::Policy>,
    ) -> Result<Self, AuthzError> {
        let mut any = Vec::new();
        let mut by_type: HashMap<String, Vec<cedar_policy::Policy>> = HashMap::new();
        let mut by_entity: HashMap<EntityUid, Vec<cedar_policy::Policy>> = HashMap::new();
        for p in policies {
            match principal_key(p) {
                Key::Any => any.push(p.clone()),
                Key::Type(t) => by_type.entry(t).or_default().push(p.clone()),
                Key::Entity(e) => by_entity.entry(e).or_default().push(p.clone()),
            }
        }
        Ok(Self {
            any: if any.is_empty() {
                None
            } else {
                Some(set_of(any)?)
            },
            by_type: sets_of(by_type)?,
            by_entity: sets_of(by_entity)?,
        })
    }

    /// The groups a principal of `kind`, that is `uid` and is in `ancestors`,
    /// can satisfy.
    fn groups<'a>(
        &'a self,
        kind: &str,
        uid: &EntityUid,
        ancestors: impl Iterator<Item = &'a EntityUid>,
    ) -> Vec<&'a PolicySet> {
        let mut sets: Vec<&PolicySet> = self.any.iter().collect();
        sets.extend(self.by_type.get(kind));
        sets.extend(self.by_entity.get(uid));
        for a in ancestors {
            sets.extend(self.by_entity.get(a));
        }
        sets
    }
}

fn scope_matches(constraint: &ActionConstraint, action_and_groups: &[Entity]) -> bool {
    match constraint {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => action_and_groups.first().is_some_and(|e| e.uid() == *a),
        ActionConstraint::In(list) => action_and_groups.iter().any(|e| list.contains(&e.uid())),
    }
}

impl Engine {
    pub fn new(catalog: &Catalog, parsed: ParsedPolicies) -> Result<Self, AuthzError> {
        let mut slices = HashMap::new();
        for name in catalog.action_names() {
            let chain = catalog.action_entities(name).unwrap_or_default();
            let members = parsed
                .set
                .policies()
                .filter(|p| scope_matches(&p.action_constraint(), chain));
            slices.insert(name.clone(), Slice::build(members)?);
        }
        Ok(Self {
            set: parsed.set,
            slices,
            policies: parsed.policies,
            authorizer: cedar_policy::Authorizer::new(),
        })
    }

    pub fn policies(&self) -> &[PolicyInfo] {
        &self.policies
    }

    /// The whole set, for tools that want raw Cedar (benchmarks, simulation).
    pub fn policy_set(&self) -> &PolicySet {
        &self.set
    }

    /// A call to one of Gatehouse's routes: the caller is an API token in its
    /// role, the resource the route's collection entity, or `target` for routes
    /// that name an item. Unlike a decision asked through the API, a policy that
    /// errors here denies the call (AZ-12): Cedar would skip it, and a skipped
    /// `forbid` is an allow.
    pub fn decide_call(
        &self,
        catalog: &Catalog,
        caller: &TokenCaller,
        action: Action,
        target: Option<&Target>,
        ctx: &CallContext,
    ) -> Decision {
        match self.try_decide_call(catalog, caller, action, target, ctx) {
            Ok(mut d) => {
                if !d.errors.is_empty() && d.is_allowed {
                    d.is_allowed = false;
                    d.is_denied_by_error = true;
                }
                d
            }
            Err(e) => Decision {
                is_allowed: false,
                policies: Vec::new(),
                errors: vec![e.to_string()],
                is_denied_by_error: true,
            },
        }
    }

    fn try_decide_call(
        &self,
        catalog: &Catalog,
        caller: &TokenCaller,
        action: Action,
        target: Option<&Target>,
        ctx: &CallContext,
    ) -> Result<Decision, AuthzError> {
        let (principal_uid, mut entities) = principal_entities(catalog, caller)?;
        let (kind, collection) = action.resource();
        let resource = match target {
            None => catalog.uid(kind, collection)?,
            Some(target) => {
                let item_type = action.item_type().ok_or_else(|| {
                    AuthzError::Request(format!("{action} names no item in its path"))
                })?;
                let uid = catalog.uid(item_type, &target.id)?;
                if let Some(attributes) = &target.attributes {
                    let mut parents = HashSet::new();
                    for (parent_kind, parent_id) in &target.parents {
                        let parent = catalog.uid(parent_kind, parent_id)?;
                        let is_known =
                            parent == principal_uid || entities.iter().any(|e| e.uid() == parent);
                        if !is_known {
                            entities.push(Entity::new_no_attrs(parent.clone(), HashSet::new()));
                        }
                        parents.insert(parent);
                    }
                    let attrs = attributes
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), restricted(v)))
                        .collect::<HashMap<_, _>>();
                    if uid != principal_uid {
                        entities.push(
                            Entity::new(uid.clone(), attrs, parents)
                                .map_err(|e| AuthzError::Request(e.to_string()))?,
                        );
                    }
                }
                uid
            }
        };
        entities.extend(
            catalog
                .action_entities(action.as_str())
                .unwrap_or_default()
                .iter()
                .cloned(),
        );
        let entities = Entities::from_entities(entities, None)
            .map_err(|e| AuthzError::Request(e.to_string()))?;
        let context = call_context(ctx, action)?;
        let request = Request::new(
            principal_uid,
            catalog.uid("Action", action.as_str())?,
            resource,
            context,
            None,
        )
        .map_err(|e| AuthzError::Request(e.to_string()))?;
        Ok(self.run(action.as_str(), &request, &entities))
    }

    /// Runs a request against the policies of its action that its principal's
    /// scope can satisfy. Cedar's answer over those groups together is its
    /// answer over the whole set: a satisfied forbid in any group denies; else a
    /// satisfied permit in any group allows; else deny by default.
    pub(crate) fn run(&self, action: &str, request: &Request, entities: &Entities) -> Decision {
        let Some(slice) = self.slices.get(action) else {
            return Decision {
                is_allowed: false,
                policies: Vec::new(),
                errors: vec![format!("\"{action}\" is not an action of the schema")],
                is_denied_by_error: false,
            };
        };
        let Some(principal) = request.principal() else {
            return Decision {
                is_allowed: false,
                policies: Vec::new(),
                errors: vec!["the request has no principal".into()],
                is_denied_by_error: false,
            };
        };
        let kind = principal.type_name().to_string();
        let ancestors = entities.ancestors(principal).into_iter().flatten();
        let (mut forbids, mut permits, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        for set in slice.groups(&kind, principal, ancestors) {
            let response = self.authorizer.is_authorized(request, set, entities);
            let reasons = response.diagnostics().reason().map(ToString::to_string);
            match response.decision() {
                CedarDecision::Allow => permits.extend(reasons),
                CedarDecision::Deny => forbids.extend(reasons),
            }
            errors.extend(response.diagnostics().errors().map(ToString::to_string));
        }
        let is_allowed = forbids.is_empty() && !permits.is_empty();
        let mut policies = if forbids.is_empty() { permits } else { forbids };
        policies.sort();
        Decision {
            is_allowed,
            policies,
            errors,
            is_denied_by_error: false,
        }
    }
}

/// The caller as Cedar entities: the principal (a `User`, `Client` or
/// `ApiToken` in its role, a person also in their type) first, then the
/// entities it is in.
pub(crate) fn principal_entities(
    catalog: &Catalog,
    caller: &TokenCaller,
) -> Result<(EntityUid, Vec<Entity>), AuthzError> {
    let role = catalog.uid("Role", &caller.role)?;
    let principal_type = if caller.user.is_some() {
        "User"
    } else if caller.client.is_some() {
        "Client"
    } else {
        "ApiToken"
    };
    let principal_uid = catalog.uid(principal_type, &caller.id)?;
    let mut principal_parents = HashSet::from([role.clone()]);
    let mut extra_parents = Vec::new();
    let attrs: HashMap<String, RestrictedExpression> = if let Some(user) = &caller.user {
        let kind = catalog.uid("UserType", &user.user_type)?;
        principal_parents.insert(kind.clone());
        extra_parents.push(Entity::new_no_attrs(kind, HashSet::new()));
        user.attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), restricted(v)))
            .collect()
    } else {
        let mut attrs = HashMap::from([
            (
                "name".to_owned(),
                RestrictedExpression::new_string(caller.name.clone()),
            ),
            (
                "role".to_owned(),
                RestrictedExpression::new_string(caller.role.clone()),
            ),
        ]);
        if let Some(client) = &caller.client {
            attrs.insert(
                "is_confidential".to_owned(),
                RestrictedExpression::new_bool(client.is_confidential),
            );
            attrs.insert(
                "scopes".to_owned(),
                RestrictedExpression::new_set(
                    client
                        .scopes
                        .iter()
                        .map(|s| RestrictedExpression::new_string(s.clone())),
                ),
            );
        }
        attrs
    };
    let principal = Entity::new(principal_uid.clone(), attrs, principal_parents)
        .map_err(|e| AuthzError::Request(e.to_string()))?;
    let mut entities = vec![principal, Entity::new_no_attrs(role, HashSet::new())];
    entities.extend(extra_parents);
    Ok((principal_uid, entities))
}

pub(crate) fn restricted(v: &AttrValue) -> RestrictedExpression {
    match v {
        AttrValue::String(s) => RestrictedExpression::new_string(s.clone()),
        AttrValue::Long(n) => RestrictedExpression::new_long(*n),
        AttrValue::Bool(b) => RestrictedExpression::new_bool(*b),
        AttrValue::Set(items) => RestrictedExpression::new_set(
            items
                .iter()
                .map(|s| RestrictedExpression::new_string(s.clone())),
        ),
        // Names are unique (they come from a map): a record that cannot be
        // built is passed as an empty set, which no policy reads as a record,
        // so a policy that reads it errors and the call is denied.
        AttrValue::Record(fields) => {
            RestrictedExpression::new_record(fields.iter().map(|(k, v)| (k.clone(), restricted(v))))
                .unwrap_or_else(|_| RestrictedExpression::new_set(std::iter::empty()))
        }
    }
}

/// The context of a call: source and time for every action, and the requested
/// role for minting, whose context type requires it (a call without one cannot
/// be built, and is denied).
pub(crate) fn call_context(ctx: &CallContext, action: Action) -> Result<Context, AuthzError> {
    let mut pairs = vec![
        (
            "source_ip".to_owned(),
            crate::ip::ip_expression(ctx.source_ip),
        ),
        ("time".to_owned(), RestrictedExpression::new_long(ctx.time)),
    ];
    if action.asks_for_role() {
        let role = ctx.requested_role.clone().unwrap_or_default();
        pairs.push((
            "requested_role".to_owned(),
            RestrictedExpression::new_string(role),
        ));
    }
    Context::from_pairs(pairs).map_err(|e| AuthzError::Request(e.to_string()))
}
