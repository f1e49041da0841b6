// The demo Thrift service: kitex-contrib/xds's proxyless GreetService (kitex-examples
// proxyless/service/codec/thrift/idl/greet.thrift), with the methods of proto/proxyless/greet.proto.
namespace js proxyless
namespace go proxyless

struct HelloRequest {
    1: required string Message,
}

struct HelloResponse {
    1: required string Message,
}

service GreetService {
    HelloResponse SayHello(1: HelloRequest request);
    HelloResponse SayHello1(1: HelloRequest request);
}
