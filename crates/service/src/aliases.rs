//! Aliases: CreateAlias, GetAlias, ListAliases, UpdateAlias and DeleteAlias. An alias is unique in
//! its account and region and points at one key of that scope, or at nothing.

use paycrypt_api::{
    Alias, ApiError, CreateAliasInput, CreateAliasOutput, DeleteAliasInput, DeleteAliasOutput,
    GetAliasInput, GetAliasOutput, KeyState, ListAliasesInput, ListAliasesOutput, UpdateAliasInput,
    UpdateAliasOutput,
};
use paycrypt_store::{AliasRecord, StoreError};

use crate::keys::{key_arn, key_id_of_arn};
use crate::{Context, Service, paging, store_error};

fn alias_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Alias {name} is not found."), name.to_string())
}

fn wire(ctx: &Context, record: AliasRecord) -> Alias {
    Alias {
        alias_name: record.name,
        key_arn: record.key_id.map(|id| key_arn(ctx, &id)),
    }
}

impl Service {
    /// The key id an alias may point to: a key of the caller's scope that is not deleted. A key
    /// pending deletion keeps its aliases (until the deletion completes), so one may be pointed
    /// at it too; a deleted key's aliases are gone, so none may point to it.
    async fn alias_target(
        &self,
        ctx: &Context,
        key_arn: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let Some(arn) = key_arn else {
            return Ok(None);
        };
        let key = self.resolve_key_arn(ctx, arn).await?;
        if key.doc.key.key_state == KeyState::DeleteComplete {
            return Err(ApiError::validation(format!(
                "Key {arn} is {}; an alias cannot point to it.",
                key.doc.key.key_state.as_str()
            )));
        }
        Ok(Some(key.id))
    }

    pub(crate) async fn create_alias(
        &self,
        ctx: &Context,
        input: CreateAliasInput,
    ) -> Result<CreateAliasOutput, ApiError> {
        let target = self.alias_target(ctx, input.key_arn.as_deref()).await?;
        let record = self
            .store
            .create_alias(
                &ctx.scope(),
                &input.alias_name,
                target.as_deref(),
                self.limits.max_aliases,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict => {
                    ApiError::conflict(format!("Alias {} already exists.", input.alias_name))
                }
                StoreError::QuotaExceeded => ApiError::quota(format!(
                    "This account has reached its limit of {} aliases in {}.",
                    self.limits.max_aliases, ctx.region
                )),
                other => store_error(other),
            })?;
        Ok(CreateAliasOutput {
            alias: wire(ctx, record),
        })
    }

    pub(crate) async fn get_alias(
        &self,
        ctx: &Context,
        input: GetAliasInput,
    ) -> Result<GetAliasOutput, ApiError> {
        let record = self
            .store
            .get_alias(&ctx.scope(), &input.alias_name)
            .await
            .map_err(store_error)?
            .ok_or_else(|| alias_not_found(&input.alias_name))?;
        Ok(GetAliasOutput {
            alias: wire(ctx, record),
        })
    }

    pub(crate) async fn update_alias(
        &self,
        ctx: &Context,
        input: UpdateAliasInput,
    ) -> Result<UpdateAliasOutput, ApiError> {
        let target = self.alias_target(ctx, input.key_arn.as_deref()).await?;
        let record = self
            .store
            .update_alias(&ctx.scope(), &input.alias_name, target.as_deref())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => alias_not_found(&input.alias_name),
                other => store_error(other),
            })?;
        Ok(UpdateAliasOutput {
            alias: wire(ctx, record),
        })
    }

    pub(crate) async fn delete_alias(
        &self,
        ctx: &Context,
        input: DeleteAliasInput,
    ) -> Result<DeleteAliasOutput, ApiError> {
        self.store
            .delete_alias(&ctx.scope(), &input.alias_name)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => alias_not_found(&input.alias_name),
                other => store_error(other),
            })?;
        Ok(DeleteAliasOutput {})
    }

    pub(crate) async fn list_aliases(
        &self,
        ctx: &Context,
        input: ListAliasesInput,
    ) -> Result<ListAliasesOutput, ApiError> {
        let limit = paging::page_size(input.max_results);
        let after = paging::sequence(input.next_token.as_deref())?;
        let key_id = input
            .key_arn
            .as_deref()
            .map(|arn| key_id_of_arn(ctx, arn))
            .transpose()?;
        let mut rows = self
            .store
            .list_aliases(&ctx.scope(), key_id.as_deref(), after, limit + 1)
            .await
            .map_err(store_error)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_token = more
            .then(|| rows.last().map(|a| paging::next_token(&a.seq.to_string())))
            .flatten();
        Ok(ListAliasesOutput {
            aliases: rows.into_iter().map(|r| wire(ctx, r)).collect(),
            next_token,
        })
    }
}
