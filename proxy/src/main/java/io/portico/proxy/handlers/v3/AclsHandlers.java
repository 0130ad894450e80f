package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.v3.AclData;
import io.portico.protocol.v3.Acls;
import io.portico.protocol.v3.CreateAclRequest;
import io.portico.protocol.v3.CreateAclsRequest;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Kafka's ACLs, as Confluent's v3 serves them: {@code GET …/acls} searches (each query parameter
 * narrows it; the words default to {@code ANY}), {@code POST …/acls} creates one (201 with
 * {@code Location}, no body), {@code POST …/acls:batch} several together (204), and
 * {@code DELETE …/acls} deletes what a search with the same parameters finds (the four words
 * required) and answers {@code {"data":[…]}}, what it deleted. Lists are sorted as Confluent's:
 * by resource type, resource name, pattern type, principal, host, operation, permission.
 */
public final class AclsHandlers {
    private static final Json.BodyReader<CreateAclRequest> CREATE_BODY = new Json.BodyReader<>(CreateAclRequest.class);
    private static final Json.BodyReader<CreateAclsRequest> BATCH_BODY = new Json.BodyReader<>(CreateAclsRequest.class);
    private static final String NO_DATA = "Null input provided. Data is required.";
    private static final Comparator<ClusterAdmin.Acl> ORDER = Comparator
            .<ClusterAdmin.Acl>comparingInt(a -> Acls.RESOURCE_TYPES.indexOf(a.resourceType()))
            .thenComparing(ClusterAdmin.Acl::resourceName)
            .thenComparingInt(a -> Acls.PATTERN_TYPES.indexOf(a.patternType()))
            .thenComparing(ClusterAdmin.Acl::principal)
            .thenComparing(ClusterAdmin.Acl::host)
            .thenComparingInt(a -> Acls.OPERATIONS.indexOf(a.operation()))
            .thenComparingInt(a -> Acls.PERMISSIONS.indexOf(a.permission()));

    private final ClusterAdmin admin;
    private final BaseUrl base;
    private final long maxBodyBytes;

    public AclsHandlers(ClusterAdmin admin, BaseUrl base, long maxBodyBytes) {
        this.admin = admin;
        this.base = base;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** {@code GET …/acls}: the ACLs the query's filter matches. */
    public void search(HttpServerExchange exchange) {
        ClusterAdmin.Acl filter = filter(exchange, "ANY", "");
        V3.answer(exchange, admin, base, id -> admin.acls(filter), (r, acls) -> r.aclList(filter,
                acls.stream().sorted(ORDER).map(r::acl).toList()));
    }

    /** {@code POST …/acls}: 201 with the ACL's search as {@code Location}. */
    public void create(HttpServerExchange exchange) {
        V3.readBody(exchange, maxBodyBytes, CREATE_BODY, NO_DATA, request -> {
            ClusterAdmin.Acl acl = acl(request);
            Http.complete(exchange, V3.resolve(exchange, admin, base, id -> admin.createAcls(List.of(acl)),
                    (r, v) -> r.acl(acl).metadata().self()), self -> {
                        exchange.getResponseHeaders().put(Headers.LOCATION, self);
                        return new Http.Reply(201, null);
                    });
        });
    }

    /** {@code POST …/acls:batch}: {@code {"data":[…]}}, created together; 204. */
    public void createBatch(HttpServerExchange exchange) {
        V3.readBody(exchange, maxBodyBytes, BATCH_BODY, NO_DATA, request -> {
            List<ClusterAdmin.Acl> acls = request.data().stream().map(AclsHandlers::acl).toList();
            V3.answer(exchange, admin, base, id -> admin.createAcls(acls), (r, v) -> Http.NO_CONTENT);
        });
    }

    /** {@code DELETE …/acls}: {@code {"data":[…]}}, the ACLs deleted. */
    public void delete(HttpServerExchange exchange) {
        ClusterAdmin.Acl filter = filter(exchange, null, " unspecified or");
        V3.answer(exchange, admin, base, id -> admin.deleteAcls(filter),
                (r, acls) -> Map.of("data", acls.stream().sorted(ORDER).map(r::acl).toList()));
    }

    private static ClusterAdmin.Acl acl(CreateAclRequest r) {
        return new ClusterAdmin.Acl(r.resourceType(), r.resourceName(), r.patternType(), r.principal(), r.host(),
                r.operation(), r.permission());
    }

    /**
     * The filter of the query's parameters: each word {@code whenAbsent} when not given (null:
     * required, a 400 as Confluent's {@code cannot be<missing> UNKNOWN}), a name, principal or
     * host of any value when absent or empty.
     */
    private static ClusterAdmin.Acl filter(HttpServerExchange exchange, String whenAbsent, String missing) {
        return new ClusterAdmin.Acl(
                word(exchange, "resource_type", Acls.RESOURCE_TYPES, whenAbsent, missing),
                text(exchange, "resource_name"),
                word(exchange, "pattern_type", Acls.PATTERN_TYPES, whenAbsent, missing),
                text(exchange, "principal"),
                text(exchange, "host"),
                word(exchange, "operation", Acls.OPERATIONS, whenAbsent, missing),
                word(exchange, "permission", Acls.PERMISSIONS, whenAbsent, missing));
    }

    /**
     * A word of the query, as Confluent's proxy takes it: absent is {@code whenAbsent} (null: a 400
     * {@code <name> cannot be unspecified or UNKNOWN}); {@code UNKNOWN} a 400; any other value
     * that is no such word (an empty one too) a 404 {@code The valid values for <Type> do not
     * include '<value>'}, as its parameter converter answers.
     */
    private static String word(HttpServerExchange exchange, String name, List<String> words, String whenAbsent,
                               String missing) {
        String value = Http.query(exchange, name);
        if (value == null) {
            if (whenAbsent == null) {
                throw ErrorCode.BAD_REQUEST.exception(name + " cannot be" + missing + " UNKNOWN");
            }
            return whenAbsent;
        }
        String upper = value.toUpperCase(java.util.Locale.ROOT);
        if (upper.equals("UNKNOWN")) {
            throw ErrorCode.BAD_REQUEST.exception(name + " cannot be" + missing + " UNKNOWN");
        }
        if (!words.contains(upper)) {
            throw ErrorCode.NOT_FOUND.exception("The valid values for " + TYPES.get(name) + " do not include '"
                    + io.portico.sessions.KafkaNames.excerpt(value) + "'");
        }
        return upper;
    }

    /** The names Confluent's proxy gives the words' types in its errors. */
    private static final Map<String, String> TYPES = Map.of("resource_type", "ResourceType", "pattern_type", "PatternType",
            "operation", "Operation", "permission", "Permission");

    private static String text(HttpServerExchange exchange, String name) {
        String value = Acls.text(name, Http.query(exchange, name), ErrorCode.BAD_REQUEST);
        return value == null || value.isEmpty() ? null : value;
    }
}
