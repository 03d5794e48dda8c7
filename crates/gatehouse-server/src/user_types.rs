//! User types (ID-3) and their registration flows (ID-1, ID-2): what users of
//! each type carry, how they sign in, and what a newcomer must prove. Each
//! definition is checked by `gatehouse-identity` (a flow against its type)
//! and stored with its before/after record.

use std::collections::BTreeMap;

use gatehouse_authz::AttrKind;
use gatehouse_identity::flow::RegistrationFlow;
use gatehouse_identity::user_type::{AttributeKind, UserType};
use gatehouse_store::{FlowRow, Store, UserTypeRow};
use gatehouse_types::{
    ErrorCode, RegistrationFlowDefinition, RegistrationFlowListResponse, UserTypeDefinition,
    UserTypeListResponse,
};
use serde_json::Value;

use crate::app::AppState;
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::RecordChange;
use crate::users::{load_type, refused};

fn invalid(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(ErrorCode::ValidationFailed, message.into())
}

/// The wire's definition as the domain's type, checked (the two share one JSON
/// shape, so a definition that does not convert is the caller's).
fn domain_type(definition: &UserTypeDefinition) -> Result<UserType, ApiFailure> {
    let value = serde_json::to_value(definition).map_err(|_| ApiFailure::internal())?;
    let user_type: UserType =
        serde_json::from_value(value).map_err(|e| invalid(format!("definition: {e}")))?;
    user_type.validate().map_err(refused)?;
    Ok(user_type)
}

fn domain_flow(definition: &RegistrationFlowDefinition) -> Result<RegistrationFlow, ApiFailure> {
    let value = serde_json::to_value(definition).map_err(|_| ApiFailure::internal())?;
    serde_json::from_value(value).map_err(|e| invalid(format!("definition: {e}")))
}

fn parsed<T: serde::de::DeserializeOwned>(text: &str) -> Option<Value> {
    serde_json::from_str::<T>(text)
        .ok()
        .and_then(|_| serde_json::from_str(text).ok())
}

/// The attributes `types` declare, one kind per name (a policy reads
/// `principal.attributes.department` whatever the type): two types declaring
/// one name with two kinds is refused, naming both.
pub fn declared_attributes(types: &[UserType]) -> Result<Vec<(String, AttrKind)>, String> {
    let mut declared: BTreeMap<String, (AttrKind, &str)> = BTreeMap::new();
    for user_type in types {
        for attribute in &user_type.attributes {
            let kind = match attribute.kind {
                AttributeKind::String => AttrKind::String,
                AttributeKind::Long => AttrKind::Long,
                AttributeKind::Boolean => AttrKind::Bool,
                AttributeKind::StringSet => AttrKind::StringSet,
            };
            let name = user_type.name.as_str();
            match declared.get(&attribute.name) {
                Some((other, by)) if *other != kind => {
                    return Err(format!(
                        "attributes: {:?} is declared with another kind by the type {by:?}: \
                         one attribute name has one kind across types",
                        attribute.name
                    ))
                }
                Some(_) => {}
                None => {
                    declared.insert(attribute.name.clone(), (kind, name));
                }
            }
        }
    }
    Ok(declared.into_iter().map(|(n, (k, _))| (n, k)).collect())
}

/// Every stored type, parsed.
pub async fn stored_types(store: &dyn Store) -> Result<Vec<UserType>, ApiFailure> {
    store
        .user_types()
        .list_types()
        .await?
        .iter()
        .map(|row| serde_json::from_str(&row.definition).map_err(|_| ApiFailure::internal()))
        .collect()
}

/// The attributes every type declares once `replacing` is stored in place of
/// the type of its name.
async fn attributes_with(
    store: &dyn Store,
    replacing: &UserType,
) -> Result<Vec<(String, AttrKind)>, ApiFailure> {
    let mut types: Vec<UserType> = stored_types(store)
        .await?
        .into_iter()
        .filter(|t| t.name != replacing.name)
        .collect();
    types.push(replacing.clone());
    declared_attributes(&types).map_err(invalid)
}

pub async fn list_types(store: &dyn Store) -> Result<UserTypeListResponse, ApiFailure> {
    let items = store
        .user_types()
        .list_types()
        .await?
        .iter()
        .map(|row| serde_json::from_str(&row.definition).map_err(|_| ApiFailure::internal()))
        .collect::<Result<_, _>>()?;
    Ok(UserTypeListResponse { items })
}

/// `PUT /v1/user-types/{name}`: creates or replaces a type. Users of the type
/// keep their attributes; a newly required one is asked for at their next
/// change.
pub async fn put_type(
    state: &AppState,
    name: &str,
    definition: UserTypeDefinition,
    change: &dyn RecordChange,
) -> Result<UserTypeDefinition, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    // The active policies must still validate with the attributes the types
    // will declare: a policy reading an attribute no type declares any more
    // is refused here, not found broken at the next start.
    let candidate = domain_type(&definition)?;
    let attributes = attributes_with(state.store.as_ref(), &candidate).await?;
    state
        .policies
        .check_attributes(&attributes)
        .map_err(|problem| {
            ApiFailure::new(
                ErrorCode::Conflict,
                format!(
                    "the active policies would no longer validate ({problem}): change them first"
                ),
            )
        })?;
    let stored = put_type_in(state.store.as_ref(), now_us, name, definition, change).await?;
    state.policies.refresh_catalog(state.store.as_ref()).await;
    Ok(stored)
}

/// [`put_type`] on a store at `now_us`.
pub async fn put_type_in(
    store: &dyn Store,
    now_us: i64,
    name: &str,
    definition: UserTypeDefinition,
    change: &dyn RecordChange,
) -> Result<UserTypeDefinition, ApiFailure> {
    if definition.name != name {
        return Err(invalid("name: must be the name in the path"));
    }
    let user_type = domain_type(&definition)?;
    attributes_with(store, &user_type).await?;
    let row = UserTypeRow {
        name: user_type.name.as_str().to_owned(),
        definition: serde_json::to_string(&user_type).map_err(|_| ApiFailure::internal())?,
        created_at_us: now_us,
        updated_at_us: now_us,
    };
    let audit = |before: Option<&str>, after: &str| {
        change.record(
            now_us,
            ("user_type", name),
            before.and_then(parsed::<UserTypeDefinition>),
            parsed::<UserTypeDefinition>(after),
        )
    };
    store
        .user_types()
        .put_type(&row, &audit, change.sealer())
        .await?;
    serde_json::from_str(&row.definition).map_err(|_| ApiFailure::internal())
}

pub async fn list_flows(store: &dyn Store) -> Result<RegistrationFlowListResponse, ApiFailure> {
    let items = store
        .user_types()
        .list_flows()
        .await?
        .iter()
        .map(|row| serde_json::from_str(&row.definition).map_err(|_| ApiFailure::internal()))
        .collect::<Result<_, _>>()?;
    Ok(RegistrationFlowListResponse { items })
}

/// `PUT /v1/registration-flows/{user_type}`: the flow is checked against its
/// type (a flow nobody could complete is refused).
pub async fn put_flow(
    state: &AppState,
    user_type: &str,
    definition: RegistrationFlowDefinition,
    change: &dyn RecordChange,
) -> Result<RegistrationFlowDefinition, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    put_flow_in(state.store.as_ref(), now_us, user_type, definition, change).await
}

/// [`put_flow`] on a store at `now_us`.
pub async fn put_flow_in(
    store: &dyn Store,
    now_us: i64,
    user_type: &str,
    definition: RegistrationFlowDefinition,
    change: &dyn RecordChange,
) -> Result<RegistrationFlowDefinition, ApiFailure> {
    if definition.user_type != user_type {
        return Err(invalid("user_type: must be the user type in the path"));
    }
    let kind = load_type(store, user_type).await?;
    let flow = domain_flow(&definition)?;
    flow.validate(&kind).map_err(refused)?;
    let row = FlowRow {
        user_type: user_type.to_owned(),
        definition: serde_json::to_string(&flow).map_err(|_| ApiFailure::internal())?,
        updated_at_us: now_us,
    };
    let audit = |before: Option<&str>, after: &str| {
        change.record(
            now_us,
            ("registration_flow", user_type),
            before.and_then(parsed::<RegistrationFlowDefinition>),
            parsed::<RegistrationFlowDefinition>(after),
        )
    };
    store
        .user_types()
        .put_flow(&row, &audit, change.sealer())
        .await?;
    serde_json::from_str(&row.definition).map_err(|_| ApiFailure::internal())
}
