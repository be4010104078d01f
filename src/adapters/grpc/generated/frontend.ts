import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ActionOptions as _frontend_v1_ActionOptions, ActionOptions__Output as _frontend_v1_ActionOptions__Output } from './frontend/v1/ActionOptions.js';
import type { CancelRunRequest as _frontend_v1_CancelRunRequest, CancelRunRequest__Output as _frontend_v1_CancelRunRequest__Output } from './frontend/v1/CancelRunRequest.js';
import type { CancelRunResponse as _frontend_v1_CancelRunResponse, CancelRunResponse__Output as _frontend_v1_CancelRunResponse__Output } from './frontend/v1/CancelRunResponse.js';
import type { ExecuteActionRequest as _frontend_v1_ExecuteActionRequest, ExecuteActionRequest__Output as _frontend_v1_ExecuteActionRequest__Output } from './frontend/v1/ExecuteActionRequest.js';
import type { ExecuteActionResponse as _frontend_v1_ExecuteActionResponse, ExecuteActionResponse__Output as _frontend_v1_ExecuteActionResponse__Output } from './frontend/v1/ExecuteActionResponse.js';
import type { FrontendServiceClient as _frontend_v1_FrontendServiceClient, FrontendServiceDefinition as _frontend_v1_FrontendServiceDefinition } from './frontend/v1/FrontendService.js';
import type { RealtimeClose as _frontend_v1_RealtimeClose, RealtimeClose__Output as _frontend_v1_RealtimeClose__Output } from './frontend/v1/RealtimeClose.js';
import type { RealtimeFrame as _frontend_v1_RealtimeFrame, RealtimeFrame__Output as _frontend_v1_RealtimeFrame__Output } from './frontend/v1/RealtimeFrame.js';
import type { RealtimeOpen as _frontend_v1_RealtimeOpen, RealtimeOpen__Output as _frontend_v1_RealtimeOpen__Output } from './frontend/v1/RealtimeOpen.js';
import type { RealtimeProxyMessage as _frontend_v1_RealtimeProxyMessage, RealtimeProxyMessage__Output as _frontend_v1_RealtimeProxyMessage__Output } from './frontend/v1/RealtimeProxyMessage.js';
import type { VariantPreferences as _frontend_v1_VariantPreferences, VariantPreferences__Output as _frontend_v1_VariantPreferences__Output } from './frontend/v1/VariantPreferences.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  frontend: {
    v1: {
      ActionOptions: MessageTypeDefinition<_frontend_v1_ActionOptions, _frontend_v1_ActionOptions__Output>
      CancelRunRequest: MessageTypeDefinition<_frontend_v1_CancelRunRequest, _frontend_v1_CancelRunRequest__Output>
      CancelRunResponse: MessageTypeDefinition<_frontend_v1_CancelRunResponse, _frontend_v1_CancelRunResponse__Output>
      ExecuteActionRequest: MessageTypeDefinition<_frontend_v1_ExecuteActionRequest, _frontend_v1_ExecuteActionRequest__Output>
      ExecuteActionResponse: MessageTypeDefinition<_frontend_v1_ExecuteActionResponse, _frontend_v1_ExecuteActionResponse__Output>
      FrontendService: SubtypeConstructor<typeof grpc.Client, _frontend_v1_FrontendServiceClient> & { service: _frontend_v1_FrontendServiceDefinition }
      RealtimeClose: MessageTypeDefinition<_frontend_v1_RealtimeClose, _frontend_v1_RealtimeClose__Output>
      RealtimeFrame: MessageTypeDefinition<_frontend_v1_RealtimeFrame, _frontend_v1_RealtimeFrame__Output>
      RealtimeOpen: MessageTypeDefinition<_frontend_v1_RealtimeOpen, _frontend_v1_RealtimeOpen__Output>
      RealtimeProxyMessage: MessageTypeDefinition<_frontend_v1_RealtimeProxyMessage, _frontend_v1_RealtimeProxyMessage__Output>
      VariantPreferences: MessageTypeDefinition<_frontend_v1_VariantPreferences, _frontend_v1_VariantPreferences__Output>
    }
  }
}

