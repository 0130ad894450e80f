package io.portico.schemas;

/**
 * A schema registry call that failed: the registry refused the request as its API does (its HTTP
 * status and Confluent error code, e.g. 404/40403 for an unknown schema id, 409 for an
 * incompatible schema, 403/40301 for its authorization refusing this server a subject or schema:
 * {@link #refused()}), it could not be reached in time
 * ({@link #unavailable()}), or it answered otherwise: this server's credentials or URL are wrong,
 * or the answer is not one of its API's (neither: the registry's failure, not the client's).
 */
public final class RegistryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final int errorCode;
    private final boolean refused;

    private RegistryException(int status, int errorCode, String message, boolean refused) {
        super(message, null, false, false);
        this.status = status;
        this.errorCode = errorCode;
        this.refused = refused;
    }

    /** The registry refused the request as its API does: its HTTP status and error code. */
    static RegistryException refused(int status, int errorCode, String message) {
        return new RegistryException(status, errorCode, message, true);
    }

    /** The registry did not answer (refused, timed out, a 5xx, 408 or 429). */
    static RegistryException unavailable(String message) {
        return new RegistryException(0, 0, message, false);
    }

    /**
     * The registry answered, but not as its API refuses a request: it does not take this server's
     * credentials (401, a 403 without its 40301), the URL is not a registry's (a 404 without a Confluent error code, a
     * redirect), or the answer is not one of its API's.
     */
    static RegistryException failed(int status, String message) {
        return new RegistryException(status, status, message, false);
    }

    public boolean unavailable() {
        return status == 0;
    }

    /**
     * Whether the registry refused the request as its API does (an unknown id, subject or
     * version, an invalid or incompatible schema): the request is at fault, not this server.
     */
    public boolean refused() {
        return refused;
    }

    /** The registry's HTTP status; 0 when it did not answer. */
    public int status() {
        return status;
    }

    /** The registry's error code ({@code error_code} of its body), else its HTTP status. */
    public int errorCode() {
        return errorCode;
    }
}
