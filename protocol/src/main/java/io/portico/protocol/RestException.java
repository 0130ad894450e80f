package io.portico.protocol;

/**
 * The one exception type that carries an {@link ErrorCode} to the error writer. Thrown by
 * parsers, services and handlers alike; anything else that reaches the writer is a 500.
 */
public final class RestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    public RestException(ErrorCode errorCode, String detail) {
        this(errorCode, detail, null);
    }

    public RestException(ErrorCode errorCode, String detail, Throwable cause) {
        super(errorCode.messageWith(detail), cause, false, false);
        this.errorCode = errorCode;
    }

    public ErrorCode errorCode() {
        return errorCode;
    }

    public int httpStatus() {
        return errorCode.httpStatus();
    }

    public ErrorMessage body() {
        return new ErrorMessage(errorCode.code(), getMessage());
    }

    /**
     * The failure under the wrappers of asynchronous calls ({@link java.util.concurrent.CompletionException},
     * {@link java.util.concurrent.ExecutionException}): a RestException thrown in a future's stage comes out as itself.
     */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
