#!/usr/bin/env node
// The CLI is written in TypeScript; tsx's loader runs it without a build step.
import { register } from 'tsx/esm/api';

// persons-relay supports Node 20.19+ (see the README's "Node versions"). On Node 20 every AWS SDK client prints a
// NodeVersionSupportWarning when it is created; set before anything loads the SDK, so it never lands in the
// middle of the CLI's output or progress bar. Node 22+ never prints it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
await import('../cli/main.ts');
