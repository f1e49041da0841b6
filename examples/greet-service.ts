// proxyless.GreetService for grpc-js, from the protobuf-es schemas in gen/: what a grpc-js code
// generator would give you (a service definition and a client class).
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { makeGenericClientConstructor, type ServiceDefinition } from "@grpc/grpc-js";
import { HelloRequestSchema, HelloResponseSchema, type HelloRequest, type HelloResponse } from "../gen/proxyless/greet_pb.js";

const codec = {
  requestSerialize: (request: HelloRequest) => Buffer.from(toBinary(HelloRequestSchema, request)),
  requestDeserialize: (bytes: Buffer) => fromBinary(HelloRequestSchema, bytes),
  responseSerialize: (response: HelloResponse) => Buffer.from(toBinary(HelloResponseSchema, response)),
  responseDeserialize: (bytes: Buffer) => fromBinary(HelloResponseSchema, bytes),
};

/** The service definition: SayHello and SayHello1, both unary. */
export const greetService = {
  SayHello: { path: "/proxyless.GreetService/SayHello", requestStream: false, responseStream: false, ...codec },
  SayHello1: { path: "/proxyless.GreetService/SayHello1", requestStream: false, responseStream: false, ...codec },
} satisfies ServiceDefinition;

/** The grpc-js client class. */
export const GreetServiceClient = makeGenericClientConstructor(greetService, "GreetService");
