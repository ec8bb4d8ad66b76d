/**
 * grpc.health.v1.Health/Check, as containerd v0.2.8 served it beside
 * types.API: the server as a whole ("") and "types.API" are SERVING until
 * the daemon stops (then NOT_SERVING); any other name is NOT_FOUND.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthServer,
} from './generated/grpc/health/v1/health.js';

export const API_SERVICE_NAME = 'types.API';

export function healthService(serving: () => boolean): HealthServer {
  return {
    check(call, callback) {
      const { service } = call.request;
      if (service !== '' && service !== API_SERVICE_NAME) {
        callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service ${service}` });
        return;
      }
      callback(null, { status: serving() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING });
    },
  };
}
