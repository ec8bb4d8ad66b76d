/**
 * UNIMPLEMENTED answers for the CRI RPCs berth does not serve yet, each
 * naming its RPC: a kubelet or crictl then says which call is missing.
 */
import {
  status,
  type ServiceDefinition,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';

function notServed(path: string): { code: status; details: string } {
  return { code: status.UNIMPLEMENTED, details: `${path} is not implemented by berth yet` };
}

/** A handler for every method of `definition`, each answering UNIMPLEMENTED. */
export function unimplementedHandlers(definition: ServiceDefinition): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    handlers[name] = method.responseStream
      ? (call: ServerWritableStream<unknown, unknown>) => call.emit('error', notServed(method.path))
      : (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
          callback(notServed(method.path));
  }
  return handlers;
}
