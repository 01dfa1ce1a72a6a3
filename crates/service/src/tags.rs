//! Tags on keys: TagResource, UntagResource and ListTagsForResource, and the checks CreateKey
//! applies to the tags it is given. Tag operations name keys by ARN only, possibly of another
//! account whose key policy allows it.

use std::collections::HashSet;

use paycrypt_api::{
    ApiError, KeyState, ListTagsForResourceInput, ListTagsForResourceOutput, Tag, TagResourceInput,
    TagResourceOutput, UntagResourceInput, UntagResourceOutput,
};
use paycrypt_store::StoreError;

use crate::keys::LoadedKey;
use crate::{Context, Service, paging, store_error};

/// Tags as the store keeps them, refusing duplicate keys and lists over the limit.
pub(crate) fn checked_tags(
    tags: Vec<Tag>,
    max_tags: u32,
) -> Result<Vec<paycrypt_store::Tag>, ApiError> {
    // The model documents it: "You can't have more than one tag ... with the same tag key."
    let mut seen = HashSet::new();
    for tag in &tags {
        if !seen.insert(tag.key.as_str()) {
            return Err(ApiError::validation(format!(
                "Tag key {} appears more than once.",
                tag.key
            )));
        }
    }
    if tags.len() > max_tags as usize {
        return Err(too_many_tags(max_tags));
    }
    Ok(tags
        .into_iter()
        .map(|t| paycrypt_store::Tag {
            key: t.key,
            value: t.value,
        })
        .collect())
}

fn too_many_tags(max_tags: u32) -> ApiError {
    ApiError::quota(format!("A key can have at most {max_tags} tags."))
}

impl Service {
    /// The key a tag operation names, which must exist and not be deleted or pending deletion.
    async fn taggable_key(&self, ctx: &Context, arn: &str) -> Result<LoadedKey, ApiError> {
        let key = self.resolve_key_arn(ctx, arn).await?;
        // AWS's behaviour (shared/reference/api-behaviour.md): a key pending deletion cannot
        // be tagged or untagged.
        if matches!(
            key.doc.key.key_state,
            KeyState::DeletePending | KeyState::DeleteComplete
        ) {
            return Err(ApiError::validation(format!(
                "Key {arn} is {}; its tags cannot be changed.",
                key.doc.key.key_state.as_str()
            )));
        }
        Ok(key)
    }

    pub(crate) async fn tag_resource(
        &self,
        ctx: &Context,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, ApiError> {
        let key = self.taggable_key(ctx, &input.resource_arn).await?;
        let max = self.limits.max_tags;
        let tags = checked_tags(input.tags, max)?;
        self.store
            .put_tags(&key.scope, &key.id, &tags, max)
            .await
            .map_err(|e| match e {
                StoreError::QuotaExceeded => too_many_tags(max),
                other => store_error(other),
            })?;
        Ok(TagResourceOutput {})
    }

    pub(crate) async fn untag_resource(
        &self,
        ctx: &Context,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, ApiError> {
        let key = self.taggable_key(ctx, &input.resource_arn).await?;
        self.store
            .remove_tags(&key.scope, &key.id, &input.tag_keys)
            .await
            .map_err(store_error)?;
        Ok(UntagResourceOutput {})
    }

    pub(crate) async fn list_tags_for_resource(
        &self,
        ctx: &Context,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, ApiError> {
        let key = self.resolve_key_arn(ctx, &input.resource_arn).await?;
        let limit = paging::page_size(input.max_results);
        let after = input
            .next_token
            .as_deref()
            .map(paging::position)
            .transpose()?;
        let mut rows = self
            .store
            .list_tags(&key.scope, &key.id, after.as_deref(), limit + 1)
            .await
            .map_err(store_error)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_token = more
            .then(|| rows.last().map(|t| paging::next_token(&t.key)))
            .flatten();
        Ok(ListTagsForResourceOutput {
            tags: rows
                .into_iter()
                .map(|t| Tag {
                    key: t.key,
                    value: t.value,
                })
                .collect(),
            next_token,
        })
    }
}
