package io.portico.schemas;

import io.portico.schemas.RegistryClient.Reference;
import io.portico.schemas.RegistryClient.SchemaText;
import java.util.List;

/**
 * A schema from the registry, which may reference other registered schemas: it serializes and
 * reads as the schema parsed (with them), and is known to the registry by its own text and
 * references (what a look-up of it under a subject sends). Every schema parsed from the registry
 * is kept so, references or not: a registry that compares a look-up's text as given (Apicurio
 * 3.0.x) finds the text it stores, not the form Portico writes the parsed schema in.
 */
final class Referencing implements ParsedSchema {
    private final ParsedSchema parsed;
    private final SchemaText source;
    private final long referencedChars;

    Referencing(ParsedSchema parsed, SchemaText source, long referencedChars) {
        this.parsed = parsed;
        this.source = source;
        this.referencedChars = referencedChars;
    }

    /** How much text the referenced schemas hold together (what caching this schema keeps besides its own). */
    long referencedChars() {
        return referencedChars;
    }

    @Override
    public SchemaType type() {
        return parsed.type();
    }

    @Override
    public String canonical() {
        return source.text();
    }

    @Override
    public List<Reference> references() {
        return source.references();
    }

    @Override
    public String recordName() {
        return parsed.recordName();
    }

    @Override
    public byte[] encode(byte[] json) {
        return parsed.encode(json);
    }

    @Override
    public byte[] encodeFramed(int id, byte[] json) {
        return parsed.encodeFramed(id, json);
    }

    @Override
    public byte[] toJson(byte[] framed) {
        return parsed.toJson(framed);
    }

    @Override
    public void check(byte[] message, boolean json) {
        parsed.check(message, json);
    }
}
