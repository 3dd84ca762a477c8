import protobuf from 'protobufjs/light.js';
import { checkProtoBudget } from '../body-budget.js';

/**
 * The OTLP logs messages we read and write, as a protobufjs JSON descriptor. Vendored from
 * opentelemetry-proto v1.5.0 (Apache-2.0, https://github.com/open-telemetry/opentelemetry-proto):
 * opentelemetry/proto/{collector/logs/v1/logs_service,logs/v1/logs,common/v1/common,resource/v1/resource}.proto,
 * plus google.rpc.Status (googleapis, Apache-2.0) for error answers. Field names are the JSON
 * (lowerCamelCase) names; ids and wire types are the .proto's. Fields we never read are left out:
 * protobuf skips unknown fields, so a newer exporter still decodes. `severityNumber` is the
 * SeverityNumber enum read as its int32 wire value.
 */
const DESCRIPTOR = {
  nested: {
    otlp: {
      nested: {
        ExportLogsServiceRequest: {
          fields: { resourceLogs: { rule: 'repeated', type: 'ResourceLogs', id: 1 } },
        },
        ExportLogsServiceResponse: {
          fields: { partialSuccess: { type: 'ExportLogsPartialSuccess', id: 1 } },
        },
        ExportLogsPartialSuccess: {
          fields: {
            rejectedLogRecords: { type: 'int64', id: 1 },
            errorMessage: { type: 'string', id: 2 },
          },
        },
        ResourceLogs: {
          fields: {
            resource: { type: 'Resource', id: 1 },
            scopeLogs: { rule: 'repeated', type: 'ScopeLogs', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          },
        },
        Resource: {
          fields: {
            attributes: { rule: 'repeated', type: 'KeyValue', id: 1 },
            droppedAttributesCount: { type: 'uint32', id: 2 },
          },
        },
        ScopeLogs: {
          fields: {
            scope: { type: 'InstrumentationScope', id: 1 },
            logRecords: { rule: 'repeated', type: 'LogRecord', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          },
        },
        InstrumentationScope: {
          fields: {
            name: { type: 'string', id: 1 },
            version: { type: 'string', id: 2 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
            droppedAttributesCount: { type: 'uint32', id: 4 },
          },
        },
        LogRecord: {
          fields: {
            timeUnixNano: { type: 'fixed64', id: 1 },
            observedTimeUnixNano: { type: 'fixed64', id: 11 },
            severityNumber: { type: 'int32', id: 2 },
            severityText: { type: 'string', id: 3 },
            body: { type: 'AnyValue', id: 5 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 6 },
            droppedAttributesCount: { type: 'uint32', id: 7 },
            flags: { type: 'fixed32', id: 8 },
            traceId: { type: 'bytes', id: 9 },
            spanId: { type: 'bytes', id: 10 },
            eventName: { type: 'string', id: 12 },
          },
        },
        AnyValue: {
          oneofs: {
            value: {
              oneof: [
                'stringValue',
                'boolValue',
                'intValue',
                'doubleValue',
                'arrayValue',
                'kvlistValue',
                'bytesValue',
              ],
            },
          },
          fields: {
            stringValue: { type: 'string', id: 1 },
            boolValue: { type: 'bool', id: 2 },
            intValue: { type: 'int64', id: 3 },
            doubleValue: { type: 'double', id: 4 },
            arrayValue: { type: 'ArrayValue', id: 5 },
            kvlistValue: { type: 'KeyValueList', id: 6 },
            bytesValue: { type: 'bytes', id: 7 },
          },
        },
        ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
        KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
        KeyValue: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'AnyValue', id: 2 },
          },
        },
        Status: {
          fields: {
            code: { type: 'int32', id: 1 },
            message: { type: 'string', id: 2 },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR).resolveAll();
const request = root.lookupType('otlp.ExportLogsServiceRequest');
const response = root.lookupType('otlp.ExportLogsServiceResponse');
const status = root.lookupType('otlp.Status');

/** Int64 / fixed64 as protobufjs gives them: a number, or a Long when the `long` package is present. */
export type WireLong = number | string | { toString(): string };

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: WireLong;
  doubleValue?: number | string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string | Uint8Array;
}

export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue;
}

export interface OtlpLogRecord {
  timeUnixNano?: WireLong;
  observedTimeUnixNano?: WireLong;
  severityNumber?: number | string;
  severityText?: string;
  body?: OtlpAnyValue;
  attributes?: OtlpKeyValue[];
  traceId?: string | Uint8Array;
  spanId?: string | Uint8Array;
  eventName?: string;
}

export interface OtlpLogsRequest {
  resourceLogs?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeLogs?: Array<{
      scope?: { name?: string; version?: string; attributes?: OtlpKeyValue[] };
      logRecords?: OtlpLogRecord[];
    }>;
  }>;
}

/** 'over' when the request would decode to more than `cap` fields (see checkProtoBudget). */
export const checkLogsProtoBudget = (bytes: Uint8Array, cap: number): 'ok' | 'over' | 'bad' =>
  checkProtoBudget(request, bytes, cap);

/**
 * Protobuf bytes to plain objects with only the fields that were sent (no prototype defaults).
 * protobufjs refuses nesting past 100 messages and out-of-range lengths; both throw, and the
 * route answers 400.
 */
export function decodeLogsProto(bytes: Uint8Array): OtlpLogsRequest {
  const message = request.decode(bytes);
  return request.toObject(message, { longs: String, defaults: false }) as OtlpLogsRequest;
}

export function encodeLogsResponse(rejected: number, errorMessage: string): Buffer {
  const body = rejected > 0 ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage } } : {};
  return Buffer.from(response.encode(response.fromObject(body)).finish());
}

/** google.rpc.Status, the body of an OTLP/HTTP protobuf error answer. */
export function encodeStatus(code: number, message: string): Buffer {
  return Buffer.from(status.encode(status.fromObject({ code, message })).finish());
}
