// Original file: proto/frontend.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelRunRequest as _frontend_v1_CancelRunRequest, CancelRunRequest__Output as _frontend_v1_CancelRunRequest__Output } from '../../frontend/v1/CancelRunRequest.js';
import type { CancelRunResponse as _frontend_v1_CancelRunResponse, CancelRunResponse__Output as _frontend_v1_CancelRunResponse__Output } from '../../frontend/v1/CancelRunResponse.js';
import type { ExecuteActionRequest as _frontend_v1_ExecuteActionRequest, ExecuteActionRequest__Output as _frontend_v1_ExecuteActionRequest__Output } from '../../frontend/v1/ExecuteActionRequest.js';
import type { ExecuteActionResponse as _frontend_v1_ExecuteActionResponse, ExecuteActionResponse__Output as _frontend_v1_ExecuteActionResponse__Output } from '../../frontend/v1/ExecuteActionResponse.js';
import type { RealtimeProxyMessage as _frontend_v1_RealtimeProxyMessage, RealtimeProxyMessage__Output as _frontend_v1_RealtimeProxyMessage__Output } from '../../frontend/v1/RealtimeProxyMessage.js';

export interface FrontendServiceClient extends grpc.Client {
  CancelRun(argument: _frontend_v1_CancelRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  CancelRun(argument: _frontend_v1_CancelRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  CancelRun(argument: _frontend_v1_CancelRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  CancelRun(argument: _frontend_v1_CancelRunRequest, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  cancelRun(argument: _frontend_v1_CancelRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  cancelRun(argument: _frontend_v1_CancelRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  cancelRun(argument: _frontend_v1_CancelRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  cancelRun(argument: _frontend_v1_CancelRunRequest, callback: grpc.requestCallback<_frontend_v1_CancelRunResponse__Output>): grpc.ClientUnaryCall;
  
  ExecuteAction(argument: _frontend_v1_ExecuteActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  ExecuteAction(argument: _frontend_v1_ExecuteActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  ExecuteAction(argument: _frontend_v1_ExecuteActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  ExecuteAction(argument: _frontend_v1_ExecuteActionRequest, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  executeAction(argument: _frontend_v1_ExecuteActionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  executeAction(argument: _frontend_v1_ExecuteActionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  executeAction(argument: _frontend_v1_ExecuteActionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  executeAction(argument: _frontend_v1_ExecuteActionRequest, callback: grpc.requestCallback<_frontend_v1_ExecuteActionResponse__Output>): grpc.ClientUnaryCall;
  
  RealtimeSession(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_frontend_v1_RealtimeProxyMessage, _frontend_v1_RealtimeProxyMessage__Output>;
  RealtimeSession(options?: grpc.CallOptions): grpc.ClientDuplexStream<_frontend_v1_RealtimeProxyMessage, _frontend_v1_RealtimeProxyMessage__Output>;
  realtimeSession(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_frontend_v1_RealtimeProxyMessage, _frontend_v1_RealtimeProxyMessage__Output>;
  realtimeSession(options?: grpc.CallOptions): grpc.ClientDuplexStream<_frontend_v1_RealtimeProxyMessage, _frontend_v1_RealtimeProxyMessage__Output>;
  
}

export interface FrontendServiceHandlers extends grpc.UntypedServiceImplementation {
  CancelRun: grpc.handleUnaryCall<_frontend_v1_CancelRunRequest__Output, _frontend_v1_CancelRunResponse>;
  
  ExecuteAction: grpc.handleUnaryCall<_frontend_v1_ExecuteActionRequest__Output, _frontend_v1_ExecuteActionResponse>;
  
  RealtimeSession: grpc.handleBidiStreamingCall<_frontend_v1_RealtimeProxyMessage__Output, _frontend_v1_RealtimeProxyMessage>;
  
}

export interface FrontendServiceDefinition extends grpc.ServiceDefinition {
  CancelRun: MethodDefinition<_frontend_v1_CancelRunRequest, _frontend_v1_CancelRunResponse, _frontend_v1_CancelRunRequest__Output, _frontend_v1_CancelRunResponse__Output>
  ExecuteAction: MethodDefinition<_frontend_v1_ExecuteActionRequest, _frontend_v1_ExecuteActionResponse, _frontend_v1_ExecuteActionRequest__Output, _frontend_v1_ExecuteActionResponse__Output>
  RealtimeSession: MethodDefinition<_frontend_v1_RealtimeProxyMessage, _frontend_v1_RealtimeProxyMessage, _frontend_v1_RealtimeProxyMessage__Output, _frontend_v1_RealtimeProxyMessage__Output>
}
