import Foundation
import Hummingbird

/// Lets a request through when it carries the configured basic credentials or token; otherwise answers 401.
///
/// With neither configured every request passes. `/healthz` always passes (for load balancers and scripts).
public struct DashboardAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let credentials: BasicCredentials?
    let token: String?

    public init(credentials: BasicCredentials?, token: String?) {
        self.credentials = credentials
        self.token = token
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if (credentials == nil && token == nil) || request.uri.path == "/healthz" || isAuthorised(request) {
            return try await next(request, context)
        }
        var headers = HTTPFields()
        if credentials != nil { headers[.wwwAuthenticate] = "Basic realm=\"Stampede\", charset=\"UTF-8\"" }
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "authentication required\n")))
    }

    func isAuthorised(_ request: Request) -> Bool {
        if let token {
            if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
               Self.constantTimeEqual(String(header.dropFirst(7)), token) { return true }
            if let header = request.headers[.init("X-Stampede-Token")!], Self.constantTimeEqual(header, token) { return true }
            if let query = request.uri.queryParameters["token"], Self.constantTimeEqual(String(query), token) { return true }
        }
        if let credentials, let header = request.headers[.authorization], header.hasPrefix("Basic "),
           let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
           let pair = String(data: data, encoding: .utf8) {
            return Self.constantTimeEqual(pair, "\(credentials.user):\(credentials.password)")
        }
        return false
    }

    /// Compares without stopping at the first difference, so timing does not reveal how much matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            let x = index < left.count ? left[index] : 0
            let y = index < right.count ? right[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
