// The editor token lives in core: the platform mints it, the agent mints and verifies it.
export { MAX_EDITOR_TOKEN_LENGTH, mintEditorToken, verifyEditorToken, type EditorPermissions, type EditorTokenPayload } from '@flowgate/core';
