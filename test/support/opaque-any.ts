// protobuf-es's fromJson for control-plane JSON whose Any fields may name types that gen/ lacks.
//
// fromJson resolves an Any's "@type" through its registry and fails on a type it does not know. Sidecar
// config is full of such types: Istio-private filter configs (istio.stats, metadata exchange, alpn) and
// Envoy extensions no client decodes (wasm, lua, cors, …), whose protos rxds does not generate. For those
// the decoder keeps the Any's type URL and encodes its JSON content as google.protobuf.Struct bytes:
// a stand-in message type is registered for each such name, with Struct's one field
// (`map<string, google.protobuf.Value> fields = 1`, the same wire format), and the Any's JSON content is
// moved under "fields". Every type gen/ has is decoded for real; only the stand-ins' bytes differ from
// what istiod sends, and a client that never decodes those types cannot tell.
import { readdir } from "node:fs/promises";
import { create, createFileRegistry, createMutableRegistry, createRegistry, fromJson, type DescFile, type DescMessage, type JsonObject, type JsonValue, type MessageShape, type Registry } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, file_google_protobuf_struct, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/** Every message, enum and extension of every file generated into gen/ (read from dist/gen). */
export async function genRegistry(): Promise<Registry> {
  const root = new URL("../../gen/", import.meta.url);
  const modules = (await readdir(root, { recursive: true })).filter((path) => path.endsWith("_pb.js"));
  const files: DescFile[] = [];
  for (const path of modules) {
    const exports = (await import(new URL(path, root).href)) as Record<string, unknown>;
    for (const value of Object.values(exports)) {
      if (typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "file") files.push(value as DescFile);
    }
  }
  return createRegistry(...files);
}

/** Decodes proto3 JSON into messages of `known`'s types, Any fields of unknown types kept as opaque Struct bytes. */
export class OpaqueAnyDecoder {
  private readonly registry;
  /** The type names given a Struct-shaped stand-in so far. */
  private readonly standIns = new Set<string>();

  constructor(private readonly known: Registry) {
    this.registry = createMutableRegistry(known);
  }

  /** The type names met in Any fields that `known` lacks, so far. */
  get opaqueTypes(): readonly string[] {
    return [...this.standIns].sort();
  }

  /** fromJson(schema, json), with every Any of an unknown type kept as Struct bytes under its own type URL. */
  fromJson<Desc extends DescMessage>(schema: Desc, json: JsonValue): MessageShape<Desc> {
    return fromJson(schema, this.rewrite(json, schema), { registry: this.registry });
  }

  /** Moves the content of each Any of an unknown type under "fields", following the schema (never into Struct values). */
  private rewrite(json: JsonValue, desc: DescMessage): JsonValue {
    if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
    if (desc.typeName === "google.protobuf.Any") return this.rewriteAny(json);
    // Struct, Value, Duration, wrappers…: their JSON is their own, and holds no Any.
    if (desc.typeName.startsWith("google.protobuf.")) return json;
    const out: JsonObject = { ...json };
    for (const field of desc.fields) {
      const key = field.jsonName in json ? field.jsonName : field.name;
      const value = json[key];
      if (value === undefined || value === null) continue;
      if (field.fieldKind === "message") out[key] = this.rewrite(value, field.message);
      else if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) out[key] = value.map((item) => this.rewrite(item, field.message));
      else if (field.fieldKind === "map" && field.mapKind === "message" && typeof value === "object" && !Array.isArray(value)) {
        out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.rewrite(v, field.message)]));
      }
    }
    return out;
  }

  private rewriteAny(json: JsonObject): JsonValue {
    const typeUrl = json["@type"];
    if (typeof typeUrl !== "string") return json;
    const typeName = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
    const { "@type": _, ...content } = json;
    const desc = this.known.getMessage(typeName);
    if (desc) return desc.typeName.startsWith("google.protobuf.") ? json : { "@type": typeUrl, ...(this.rewrite(content, desc) as JsonObject) };
    if (!this.standIns.has(typeName)) {
      this.standIns.add(typeName);
      this.registry.add(structStandIn(typeName));
    }
    return { "@type": typeUrl, fields: content };
  }
}

/** A message type named `typeName` with google.protobuf.Struct's fields, hence its wire format. */
function structStandIn(typeName: string): DescMessage {
  const dot = typeName.lastIndexOf(".");
  const name = typeName.slice(dot + 1);
  const proto = create(FileDescriptorProtoSchema, {
    name: `opaque/${typeName}.proto`,
    package: dot < 0 ? "" : typeName.slice(0, dot),
    dependency: ["google/protobuf/struct.proto"],
    syntax: "proto3",
    messageType: [
      {
        name,
        field: [{ name: "fields", jsonName: "fields", number: 1, label: FieldDescriptorProto_Label.REPEATED, type: FieldDescriptorProto_Type.MESSAGE, typeName: `.${typeName}.FieldsEntry` }],
        nestedType: [
          {
            name: "FieldsEntry",
            options: { mapEntry: true },
            field: [
              { name: "key", jsonName: "key", number: 1, label: FieldDescriptorProto_Label.OPTIONAL, type: FieldDescriptorProto_Type.STRING },
              { name: "value", jsonName: "value", number: 2, label: FieldDescriptorProto_Label.OPTIONAL, type: FieldDescriptorProto_Type.MESSAGE, typeName: ".google.protobuf.Value" },
            ],
          },
        ],
      },
    ],
  });
  const desc = createFileRegistry(proto, (file) => (file === "google/protobuf/struct.proto" ? file_google_protobuf_struct : undefined)).getMessage(typeName);
  if (!desc) throw new Error(`stand-in for ${typeName} was not registered`);
  return desc;
}
