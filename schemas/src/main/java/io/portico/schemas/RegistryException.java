package io.portico.schemas;

/**
 * A schema registry call that failed: either the registry answered with an error (its HTTP
 * status and Confluent error code, e.g. 404/40403 for an unknown schema id, 409 for an
 * incompatible schema) or it could not be reached in time ({@link #unavailable()}).
 */
public final class RegistryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final int errorCode;

    RegistryException(int status, int errorCode, String message) {
        super(message, null, false, false);
        this.status = status;
        this.errorCode = errorCode;
    }

    /** The registry did not answer (refused, timed out, or a 5xx). */
    static RegistryException unavailable(String message) {
        return new RegistryException(0, 0, message);
    }

    public boolean unavailable() {
        return status == 0;
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
