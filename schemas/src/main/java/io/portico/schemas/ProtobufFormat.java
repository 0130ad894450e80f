package io.portico.schemas;

import com.google.protobuf.DescriptorProtos;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import com.squareup.wire.schema.Field;
import com.squareup.wire.schema.Location;
import com.squareup.wire.schema.internal.parser.EnumConstantElement;
import com.squareup.wire.schema.internal.parser.EnumElement;
import com.squareup.wire.schema.internal.parser.FieldElement;
import com.squareup.wire.schema.internal.parser.MessageElement;
import com.squareup.wire.schema.internal.parser.OneOfElement;
import com.squareup.wire.schema.internal.parser.OptionElement;
import com.squareup.wire.schema.internal.parser.ProtoFileElement;
import com.squareup.wire.schema.internal.parser.ProtoParser;
import com.squareup.wire.schema.internal.parser.TypeElement;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Protobuf as Confluent's serializer writes it: after the magic byte and schema id, the list of
 * message indexes that locates the message type in the schema (zig-zag varints: the count, then
 * each index; the first message, {@code [0]}, as one byte 0), then the message. The schema is
 * {@code .proto} text, parsed with wire-schema and built into protobuf descriptors; keys and
 * values are given and shown in protobuf's JSON mapping, as Confluent's REST Proxy does (the
 * first message of the schema is the one produced; names in lowerCamelCase, fields with default
 * values shown). A schema may import the files its references (other registered schemas) name,
 * and the ones Confluent's serializers treat as built in (protobuf's well-known types,
 * {@code google/type/*.proto}, Confluent's {@code meta.proto} and {@code decimal.proto}).
 */
final class ProtobufFormat implements ParsedSchema {
    private static final Pattern MAP = Pattern.compile("map\\s*<\\s*([\\w.]+)\\s*,\\s*([\\w.]+)\\s*>");
    private static final Map<String, FieldDescriptorProto.Type> SCALARS = Map.ofEntries(
            Map.entry("double", FieldDescriptorProto.Type.TYPE_DOUBLE),
            Map.entry("float", FieldDescriptorProto.Type.TYPE_FLOAT),
            Map.entry("int64", FieldDescriptorProto.Type.TYPE_INT64),
            Map.entry("uint64", FieldDescriptorProto.Type.TYPE_UINT64),
            Map.entry("int32", FieldDescriptorProto.Type.TYPE_INT32),
            Map.entry("fixed64", FieldDescriptorProto.Type.TYPE_FIXED64),
            Map.entry("fixed32", FieldDescriptorProto.Type.TYPE_FIXED32),
            Map.entry("bool", FieldDescriptorProto.Type.TYPE_BOOL),
            Map.entry("string", FieldDescriptorProto.Type.TYPE_STRING),
            Map.entry("bytes", FieldDescriptorProto.Type.TYPE_BYTES),
            Map.entry("uint32", FieldDescriptorProto.Type.TYPE_UINT32),
            Map.entry("sfixed32", FieldDescriptorProto.Type.TYPE_SFIXED32),
            Map.entry("sfixed64", FieldDescriptorProto.Type.TYPE_SFIXED64),
            Map.entry("sint32", FieldDescriptorProto.Type.TYPE_SINT32),
            Map.entry("sint64", FieldDescriptorProto.Type.TYPE_SINT64));
    /**
     * The files a schema may import without a reference, as Confluent's serializers register none
     * for them: protobuf's well-known types, {@code google/type/*.proto} and Confluent's own
     * {@code confluent/meta.proto} and {@code confluent/type/decimal.proto}.
     */
    private static final Map<String, Descriptors.FileDescriptor> WELL_KNOWN = builtIn();

    private static Map<String, Descriptors.FileDescriptor> builtIn() {
        Map<String, Descriptors.FileDescriptor> files = new java.util.HashMap<>();
        for (Descriptors.FileDescriptor f : List.of(com.google.protobuf.TimestampProto.getDescriptor(),
                com.google.protobuf.DurationProto.getDescriptor(), com.google.protobuf.WrappersProto.getDescriptor(),
                com.google.protobuf.StructProto.getDescriptor(), com.google.protobuf.EmptyProto.getDescriptor(),
                com.google.protobuf.FieldMaskProto.getDescriptor(), com.google.protobuf.AnyProto.getDescriptor(),
                com.google.protobuf.ApiProto.getDescriptor(), com.google.protobuf.TypeProto.getDescriptor(),
                com.google.protobuf.SourceContextProto.getDescriptor(), DescriptorProtos.getDescriptor(),
                com.google.type.CalendarPeriodProto.getDescriptor(), com.google.type.ColorProto.getDescriptor(),
                com.google.type.DateProto.getDescriptor(), com.google.type.DateTimeProto.getDescriptor(),
                com.google.type.DayOfWeekProto.getDescriptor(), com.google.type.DecimalProto.getDescriptor(),
                com.google.type.ExprProto.getDescriptor(), com.google.type.FractionProto.getDescriptor(),
                com.google.type.IntervalProto.getDescriptor(), com.google.type.LatLngProto.getDescriptor(),
                com.google.type.LocalizedTextProto.getDescriptor(), com.google.type.MoneyProto.getDescriptor(),
                com.google.type.MonthProto.getDescriptor(), com.google.type.PhoneNumberProto.getDescriptor(),
                com.google.type.PostalAddressProto.getDescriptor(), com.google.type.QuaternionProto.getDescriptor(),
                com.google.type.TimeOfDayProto.getDescriptor())) {
            files.put(f.getName(), f);
        }
        // Confluent's two files, as their messages are on the wire (their options are not kept).
        for (Map.Entry<String, String> own : Map.of(
                "confluent/meta.proto", "syntax = \"proto3\";\npackage confluent;\n"
                        + "message Meta {\n  string doc = 1;\n  map<string, string> params = 2;\n  repeated string tags = 3;\n}\n",
                "confluent/type/decimal.proto", "syntax = \"proto3\";\npackage confluent.type;\n"
                        + "message Decimal {\n  bytes value = 1;\n  uint32 precision = 2;\n  int32 scale = 3;\n}\n").entrySet()) {
            files.put(own.getKey(), build(own.getKey(), own.getValue(), Map.of(), files, new java.util.HashSet<>()));
        }
        return Map.copyOf(files);
    }
    private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser();

    /**
     * The fields a record's JSON shows even when unset, as Confluent's proxy shows them (protobuf's
     * "including default value fields"): every field without presence (proto3's scalars, repeated
     * fields and maps), and every scalar, enum or string field outside a oneof (proto2's optional
     * ones, with their declared defaults); never an unset message or a oneof's member.
     */
    private static java.util.Set<Descriptors.FieldDescriptor> shownUnset(Descriptors.FileDescriptor file) {
        java.util.Set<Descriptors.FieldDescriptor> out = new java.util.HashSet<>();
        java.util.Set<Descriptors.Descriptor> seen = new java.util.HashSet<>();
        java.util.ArrayDeque<Descriptors.Descriptor> todo = new java.util.ArrayDeque<>();
        java.util.Set<Descriptors.FileDescriptor> files = new java.util.HashSet<>();
        java.util.ArrayDeque<Descriptors.FileDescriptor> filesTodo = new java.util.ArrayDeque<>(List.of(file));
        while (!filesTodo.isEmpty()) { // the records' messages may be of imported files too
            Descriptors.FileDescriptor f = filesTodo.pop();
            if (files.add(f)) {
                todo.addAll(f.getMessageTypes());
                filesTodo.addAll(f.getDependencies());
            }
        }
        while (!todo.isEmpty()) {
            Descriptors.Descriptor d = todo.pop();
            if (!seen.add(d)) {
                continue;
            }
            for (Descriptors.FieldDescriptor field : d.getFields()) {
                if (!field.hasPresence() || field.getJavaType() != Descriptors.FieldDescriptor.JavaType.MESSAGE
                        && field.getContainingOneof() == null) {
                    out.add(field);
                }
            }
            todo.addAll(d.getNestedTypes());
        }
        return out;
    }

    private final Descriptors.FileDescriptor file;
    private final Descriptors.Descriptor first;
    private final String canonical;

    private final JsonFormat.Printer printer;

    private ProtobufFormat(Descriptors.FileDescriptor file, String canonical) {
        java.util.Set<Descriptors.FieldDescriptor> unset = shownUnset(file);
        this.printer = (unset.isEmpty() ? JsonFormat.printer() : JsonFormat.printer().includingDefaultValueFields(unset))
                .omittingInsignificantWhitespace();
        this.file = file;
        this.first = file.getMessageTypes().get(0);
        this.canonical = canonical;
    }

    /** @throws InvalidSchemaException when {@code text} is not a {@code .proto} file Portico can build */
    static ProtobufFormat parse(String text) {
        return parse(text, Map.of());
    }

    /**
     * A {@code .proto} file that may import the files of {@code references} (by import path, as
     * Confluent's references name them) besides protobuf's well-known types.
     *
     * @throws InvalidSchemaException when it or a file it imports cannot be built
     */
    static ProtobufFormat parse(String text, Map<String, String> references) {
        String main = MAIN_FILE;
        for (int i = 1; references.containsKey(main); i++) {
            main = "schema-" + i + ".proto"; // a reference may have any name, this file's too
        }
        Descriptors.FileDescriptor file = build(main, text, references, new java.util.HashMap<>(),
                new java.util.HashSet<>());
        if (file.getMessageTypes().isEmpty()) {
            throw new InvalidSchemaException("the schema has no message type");
        }
        return new ProtobufFormat(file, text);
    }

    /** The schema's own file name; an import of another name is a reference or a well-known type. */
    private static final String MAIN_FILE = "schema.proto";

    private static Descriptors.FileDescriptor build(String name, String text, Map<String, String> references,
                                                    Map<String, Descriptors.FileDescriptor> built, java.util.Set<String> building) {
        String where = building.isEmpty() ? "" : "its import \"" + name + "\": ";
        int depth = nesting(text);
        if (depth > MAX_NESTING) {
            throw new InvalidSchemaException(where + "it nests " + depth + " levels deep (braces, brackets and "
                    + "parentheses within one another); at most " + MAX_NESTING + " are read");
        }
        ProtoFileElement element;
        try {
            element = ProtoParser.Companion.parse(Location.get(name), text);
        } catch (RuntimeException e) {
            throw new InvalidSchemaException(where + e.getMessage());
        } catch (StackOverflowError e) {
            throw new InvalidSchemaException(where + "it nests too deeply to be read");
        }
        building.add(name);
        List<Descriptors.FileDescriptor> dependencies = new ArrayList<>();
        List<String> imports = new ArrayList<>(element.getImports());
        imports.addAll(element.getPublicImports());
        imports.addAll(element.getWeakImports());
        for (String imported : imports) {
            Descriptors.FileDescriptor dependency = WELL_KNOWN.get(imported);
            if (dependency == null) {
                dependency = built.get(imported);
            }
            if (dependency == null) {
                String importedText = references.get(imported);
                if (importedText == null) {
                    throw new InvalidSchemaException(where + "import \"" + imported + "\" is neither one of the schema's "
                            + "references nor a file built in (protobuf's well-known types, google/type/*.proto, "
                            + "confluent/meta.proto, confluent/type/decimal.proto)");
                }
                if (building.contains(imported)) {
                    throw new InvalidSchemaException(where + "import \"" + imported + "\" imports itself, through "
                            + building);
                }
                dependency = build(imported, importedText, references, built, building);
            }
            dependencies.add(dependency);
        }
        Descriptors.FileDescriptor file;
        try {
            FileDescriptorProto proto = toProto(element, name, imports, element.getPublicImports().size());
            file = Descriptors.FileDescriptor.buildFrom(proto, dependencies.toArray(Descriptors.FileDescriptor[]::new));
        } catch (Descriptors.DescriptorValidationException | RuntimeException e) {
            throw new InvalidSchemaException(where + e.getMessage());
        } catch (StackOverflowError e) {
            throw new InvalidSchemaException(where + "it nests too deeply to be built");
        }
        building.remove(name);
        built.put(name, file);
        return file;
    }

    /**
     * How deep a {@code .proto} file may nest braces, brackets and parentheses within one another
     * (messages in messages, option values): the parser and the descriptors recurse at each level.
     */
    private static final int MAX_NESTING = 100;

    /**
     * The deepest nesting of braces, brackets and parentheses in {@code .proto} text, outside its
     * strings and comments.
     */
    private static int nesting(String text) {
        int depth = 0;
        int deepest = 0;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\'') {
                for (i++; i < n && text.charAt(i) != c && text.charAt(i) != '\n'; i++) {
                    if (text.charAt(i) == '\\') {
                        i++;
                    }
                }
            } else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '/') {
                int end = text.indexOf('\n', i);
                i = end < 0 ? n : end;
            } else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '*') {
                int end = text.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 1;
            } else if (c == '{' || c == '[' || c == '(') {
                deepest = Math.max(deepest, ++depth);
            } else if ((c == '}' || c == ']' || c == ')') && depth > 0) {
                depth--;
            }
        }
        return deepest;
    }

    /** The message type produced: the schema's first. */
    Descriptors.Descriptor firstMessage() {
        return first;
    }

    @Override
    public SchemaType type() {
        return SchemaType.PROTOBUF;
    }

    @Override
    public String canonical() {
        return canonical;
    }

    @Override
    public String recordName() {
        return first.getFullName();
    }

    @Override
    public byte[] encode(byte[] json) {
        return JsonTokens.built(json, this::encodeTree); // the tree, counted while it is built and used
    }

    private byte[] encodeTree(byte[] json) {
        DynamicMessage.Builder builder = DynamicMessage.newBuilder(first);
        byte[] message;
        try {
            JSON_PARSER.merge(new String(json, StandardCharsets.UTF_8), builder);
            message = builder.build().toByteArray();
        } catch (com.google.protobuf.UninitializedMessageException e) {
            // proto2's required fields the message lacks (a nested message's, the JSON parser reports itself)
            throw new InvalidDataException(e.getMissingFields() == null ? String.valueOf(e.getMessage())
                    : "missing required fields: " + String.join(", ", e.getMissingFields()));
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw new InvalidDataException(String.valueOf(e.getMessage()));
        }
        byte[] out = new byte[1 + message.length];
        out[0] = 0; // message indexes [0]: the first message
        System.arraycopy(message, 0, out, 1, message.length);
        return out;
    }

    @Override
    public void check(byte[] message, boolean json) {
        if (json) {
            encode(message);
            return;
        }
        DynamicMessage parsed;
        try {
            parsed = DynamicMessage.parseFrom(first, message);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw new InvalidDataException("its bytes are not a " + first.getFullName() + " message: " + e.getMessage());
        }
        requireKnownFields(parsed);
    }

    /** Protobuf keeps fields of numbers its type does not have: a message of another type would pass as this one. */
    private static void requireKnownFields(com.google.protobuf.Message m) {
        if (!m.getUnknownFields().asMap().isEmpty()) {
            throw new InvalidDataException("its bytes have fields " + m.getUnknownFields().asMap().keySet()
                    + " that " + m.getDescriptorForType().getFullName() + " does not have");
        }
        for (Map.Entry<Descriptors.FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
            if (e.getKey().getJavaType() != Descriptors.FieldDescriptor.JavaType.MESSAGE) {
                continue;
            }
            if (e.getKey().isRepeated()) {
                for (Object item : (List<?>) e.getValue()) {
                    requireKnownFields((com.google.protobuf.Message) item);
                }
            } else {
                requireKnownFields((com.google.protobuf.Message) e.getValue());
            }
        }
    }

    /**
     * {@inheritDoc} A message protobuf's JSON mapping cannot show (a {@code Timestamp} or
     * {@code Duration} out of its range, say) is invalid data too. Every field is shown, set or
     * not, so a few bytes may stand for much JSON (an empty element of a repeated message of 200
     * fields takes two bytes): the JSON stops at {@link ParsedSchema#maxJsonBytes}. Protobuf's encoding
     * takes at least a byte for each element it reads, so the message itself is no larger than
     * a small multiple of its bytes.
     */
    @Override
    public byte[] toJson(byte[] framed) {
        DecodeRoom room = DecodeRoom.open();
        DynamicMessage message;
        try {
            // The message is built whole before its JSON: a record of empty elements of a repeated
            // message builds an object for every two bytes. Its room is taken first (503 without).
            // At most a quarter of the whole room: a large record of one bytes field costs about
            // its size, and asking for all the room would hold every other decode behind it.
            room.need(Math.min(MESSAGE_BYTES_PER_BYTE * framed.length, DecodeRoom.QUARTER_BYTES));
            message = read(framed);
        } catch (RuntimeException e) {
            room.close();
            throw e;
        }
        int max = ParsedSchema.maxJsonBytes(framed.length);
        try {
            BoundedText json = new BoundedText(max, room);
            printer.appendTo(message, json);
            return json.text.toString().getBytes(StandardCharsets.UTF_8);
        } catch (io.portico.protocol.RestException e) {
            throw e; // no room to decode it now (503): the record is fine
        } catch (BoundedText.TooLarge e) {
            throw new InvalidDataException("its " + message.getDescriptorForType().getFullName()
                    + " message cannot be shown: it would be shown as more than " + max + " bytes of JSON");
        } catch (java.io.IOException | RuntimeException e) {
            throw new InvalidDataException("its " + message.getDescriptorForType().getFullName()
                    + " message has no form in protobuf's JSON mapping: " + e.getMessage());
        } catch (StackOverflowError e) {
            throw new InvalidDataException("its " + message.getDescriptorForType().getFullName()
                    + " message nests too deeply to be shown");
        } finally {
            room.close();
        }
    }

    /** What a parsed message takes per byte of its encoding, at most about (an empty element of a repeated message: two bytes). */
    private static final long MESSAGE_BYTES_PER_BYTE = 40;

    /** Text that refuses to grow past a bound in UTF-8 bytes. */
    private static final class BoundedText implements Appendable {
        /** The bound is reached. */
        static final class TooLarge extends java.io.IOException {
            private static final long serialVersionUID = 1L;
        }

        final StringBuilder text = new StringBuilder();
        private final long maxBytes;
        private long room;
        private final DecodeRoom decoding;
        private long charged = DecodeRoom.FREE_BYTES / 4; // bytes of text covered so far (the first ones free)

        BoundedText(long maxBytes, DecodeRoom decoding) {
            this.maxBytes = maxBytes;
            this.room = maxBytes;
            this.decoding = decoding;
        }

        @Override
        public Appendable append(CharSequence s) throws TooLarge {
            return append(s, 0, s.length());
        }

        @Override
        public Appendable append(CharSequence s, int start, int end) throws TooLarge {
            for (int i = start; i < end; i++) {
                take(s.charAt(i));
            }
            text.append(s, start, end);
            return this;
        }

        @Override
        public Appendable append(char c) throws TooLarge {
            take(c);
            text.append(c);
            return this;
        }

        /** A surrogate counts two bytes (a pair, four), other characters their UTF-8 bytes. */
        private void take(char c) throws TooLarge {
            room -= c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
            if (room < 0) {
                throw new TooLarge();
            }
            long used = maxBytes - room;
            if (used > charged) {
                // The builder (up to two bytes a character, grown by doubling), its String and the
                // answer's bytes: some four times the text, asked for 64 KiB of text ahead.
                charged = used + 64 * 1024;
                decoding.need(4 * charged);
            }
        }
    }

    /** The message of a framed record, of the type its message-index list names. */
    private DynamicMessage read(byte[] framed) {
        int[] at = {Framing.HEADER};
        Descriptors.Descriptor type;
        try {
            int count = zigzag(varint(framed, at));
            if (count == 0) {
                type = first;
            } else {
                if (count < 0 || count > 100) {
                    throw new InvalidDataException("its message-index list is not valid");
                }
                List<Descriptors.Descriptor> level = file.getMessageTypes();
                type = null;
                for (int i = 0; i < count; i++) {
                    int index = zigzag(varint(framed, at));
                    if (index < 0 || index >= level.size()) {
                        throw new InvalidDataException("its message index " + index + " is not in the schema");
                    }
                    type = level.get(index);
                    level = type.getNestedTypes();
                }
            }
            return DynamicMessage.parseFrom(type,
                    com.google.protobuf.ByteString.copyFrom(framed, at[0], framed.length - at[0]));
        } catch (InvalidDataException e) {
            throw e;
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw new InvalidDataException("its bytes are not a protobuf message of the schema: " + e.getMessage());
        } catch (StackOverflowError e) {
            throw new InvalidDataException("its bytes are not a protobuf message of the schema: it nests too deeply");
        }
    }

    private static int varint(byte[] b, int[] at) {
        int value = 0;
        for (int shift = 0; shift < 32; shift += 7) {
            byte x = b[at[0]++];
            value |= (x & 0x7f) << shift;
            if (x >= 0) {
                return value;
            }
        }
        throw new InvalidDataException("its message-index list is not valid");
    }

    private static int zigzag(int v) {
        return (v >>> 1) ^ -(v & 1);
    }

    // ---- .proto text to a FileDescriptorProto

    private static FileDescriptorProto toProto(ProtoFileElement element, String name, List<String> imports, int publics) {
        FileDescriptorProto.Builder file = FileDescriptorProto.newBuilder().setName(name);
        String syntax = element.getSyntax() == null ? "proto2" : element.getSyntax().toString().toLowerCase(Locale.ROOT);
        if (syntax.contains("3")) {
            file.setSyntax("proto3");
        } else if (syntax.contains("2")) {
            file.setSyntax("proto2");
        } else {
            throw new IllegalArgumentException("syntax " + syntax + " is not supported (proto2 and proto3 are)");
        }
        boolean proto3 = file.getSyntax().equals("proto3");
        if (element.getPackageName() != null) {
            file.setPackage(element.getPackageName());
        }
        for (String imported : imports) {
            file.addDependency(imported);
        }
        int plain = element.getImports().size();
        for (int i = plain; i < imports.size(); i++) {
            if (i < plain + publics) {
                file.addPublicDependency(i); // the public imports come after the plain ones, the weak last
            } else {
                file.addWeakDependency(i);
            }
        }
        for (TypeElement type : element.getTypes()) {
            if (type instanceof MessageElement m) {
                file.addMessageType(message(m, proto3));
            } else if (type instanceof EnumElement e) {
                file.addEnumType(enumType(e));
            }
        }
        return file.build();
    }

    private static DescriptorProto message(MessageElement m, boolean proto3) {
        if (!m.getGroups().isEmpty()) {
            throw new IllegalArgumentException("groups are not supported (message " + m.getName() + ")");
        }
        DescriptorProto.Builder b = DescriptorProto.newBuilder().setName(m.getName());
        for (TypeElement nested : m.getNestedTypes()) {
            if (nested instanceof MessageElement nm) {
                b.addNestedType(message(nm, proto3));
            } else if (nested instanceof EnumElement ne) {
                b.addEnumType(enumType(ne));
            }
        }
        List<String> synthetic = new ArrayList<>();
        List<FieldDescriptorProto.Builder> fields = new ArrayList<>();
        for (FieldElement f : m.getFields()) {
            FieldDescriptorProto.Builder field = field(f, b, proto3);
            if (proto3 && f.getLabel() == Field.Label.OPTIONAL) {
                field.setProto3Optional(true);
                synthetic.add("_" + f.getName());
                field.setOneofIndex(-synthetic.size()); // fixed below, once the real oneofs are counted
            }
            fields.add(field);
        }
        int oneofs = 0;
        for (OneOfElement o : m.getOneOfs()) {
            b.addOneofDecl(OneofDescriptorProto.newBuilder().setName(o.getName()));
            for (FieldElement f : o.getFields()) {
                fields.add(field(f, b, proto3).setOneofIndex(oneofs));
            }
            oneofs++;
        }
        for (String name : synthetic) {
            b.addOneofDecl(OneofDescriptorProto.newBuilder().setName(name));
        }
        for (FieldDescriptorProto.Builder field : fields) {
            if (field.hasOneofIndex() && field.getOneofIndex() < 0) {
                field.setOneofIndex(oneofs - field.getOneofIndex() - 1);
            }
            b.addField(field);
        }
        return b.build();
    }

    private static FieldDescriptorProto.Builder field(FieldElement f, DescriptorProto.Builder owner, boolean proto3) {
        FieldDescriptorProto.Builder field = FieldDescriptorProto.newBuilder().setName(f.getName()).setNumber(f.getTag());
        if (f.getJsonName() != null) {
            field.setJsonName(f.getJsonName());
        }
        Matcher map = MAP.matcher(f.getType());
        if (map.matches()) {
            String entry = camel(f.getName()) + "Entry";
            DescriptorProto.Builder e = DescriptorProto.newBuilder().setName(entry)
                    .setOptions(DescriptorProtos.MessageOptions.newBuilder().setMapEntry(true));
            e.addField(typed(FieldDescriptorProto.newBuilder().setName("key").setNumber(1)
                    .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL), map.group(1)));
            e.addField(typed(FieldDescriptorProto.newBuilder().setName("value").setNumber(2)
                    .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL), map.group(2)));
            owner.addNestedType(e);
            return field.setLabel(FieldDescriptorProto.Label.LABEL_REPEATED).setTypeName(entry);
        }
        Field.Label label = f.getLabel();
        if (label == Field.Label.REPEATED) {
            field.setLabel(FieldDescriptorProto.Label.LABEL_REPEATED);
        } else if (label == Field.Label.REQUIRED) {
            field.setLabel(FieldDescriptorProto.Label.LABEL_REQUIRED);
        } else {
            field.setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL);
        }
        typed(field, f.getType());
        if (f.getDefaultValue() != null && !proto3) {
            field.setDefaultValue(f.getDefaultValue());
        }
        for (OptionElement o : f.getOptions()) {
            if (o.getName().equals("packed")) {
                field.setOptions(DescriptorProtos.FieldOptions.newBuilder()
                        .setPacked(Boolean.parseBoolean(String.valueOf(o.getValue()))));
            }
        }
        return field;
    }

    /** Sets a scalar's type, or the name of a message or enum type (protobuf resolves which, and where). */
    private static FieldDescriptorProto.Builder typed(FieldDescriptorProto.Builder field, String type) {
        FieldDescriptorProto.Type scalar = SCALARS.get(type);
        if (scalar != null) {
            return field.setType(scalar);
        }
        return field.setTypeName(type);
    }

    private static EnumDescriptorProto enumType(EnumElement e) {
        EnumDescriptorProto.Builder b = EnumDescriptorProto.newBuilder().setName(e.getName());
        for (OptionElement o : e.getOptions()) {
            if (o.getName().equals("allow_alias")) {
                b.setOptions(DescriptorProtos.EnumOptions.newBuilder()
                        .setAllowAlias(Boolean.parseBoolean(String.valueOf(o.getValue()))));
            }
        }
        for (EnumConstantElement c : e.getConstants()) {
            b.addValue(EnumValueDescriptorProto.newBuilder().setName(c.getName()).setNumber(c.getTag()));
        }
        return b.build();
    }

    /** protoc's name of a map field's entry type: the field name in CamelCase. */
    private static String camel(String name) {
        StringBuilder out = new StringBuilder(name.length());
        boolean upper = true;
        for (char c : name.toCharArray()) {
            if (c == '_') {
                upper = true;
            } else if (upper) {
                out.append(Character.toUpperCase(c));
                upper = false;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** The message-index list of a path of message types, as Confluent's serializer writes it. */
    static byte[] indexes(int... path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (path.length == 1 && path[0] == 0) {
            out.write(0);
            return out.toByteArray();
        }
        writeVarint(out, (path.length << 1) ^ (path.length >> 31));
        for (int i : path) {
            writeVarint(out, (i << 1) ^ (i >> 31));
        }
        return out.toByteArray();
    }

    private static void writeVarint(ByteArrayOutputStream out, int v) {
        while ((v & ~0x7f) != 0) {
            out.write((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }
}
