import Hummingbird

/// Control actions from the page: `POST /api/start`, `POST /api/stop`, `POST /api/adjust`.
///
/// Malformed requests answer 400 with `{"error": ...}`; a data source that refuses (e.g. a run is already in
/// progress) answers 409 with its message.
struct ControlRoutes {
    let dataSource: any DashboardDataSource

    func register(on router: Router<some RequestContext>) {
        let dataSource = self.dataSource
        let api = router.group("api")
        api.post("start") { request, context -> Response in
            let form: RunStartRequest
            do {
                form = try await request.decode(as: RunStartRequest.self, context: context).validated()
            } catch let error as DashboardError {
                return JSONBody.error(error.message, status: .badRequest)
            } catch {
                return JSONBody.error("the start form could not be read: \(error)", status: .badRequest)
            }
            do {
                let runID = try await dataSource.start(form)
                return try JSONBody.response(["runID": runID], status: .accepted)
            } catch {
                return Self.refused(error)
            }
        }
        api.post("stop") { _, _ -> Response in
            do {
                try await dataSource.stop()
                return try JSONBody.response(["state": "stopping"], status: .accepted)
            } catch {
                return Self.refused(error)
            }
        }
        api.post("adjust") { request, context -> Response in
            let adjustment: LoadAdjustment
            do {
                adjustment = try await request.decode(as: LoadAdjustment.self, context: context).validated()
            } catch let error as DashboardError {
                return JSONBody.error(error.message, status: .badRequest)
            } catch {
                return JSONBody.error("the change could not be read: \(error)", status: .badRequest)
            }
            do {
                try await dataSource.adjust(adjustment)
                return try JSONBody.response(adjustment, status: .accepted)
            } catch {
                return Self.refused(error)
            }
        }
    }

    static func refused(_ error: any Error) -> Response {
        if let error = error as? DashboardError, error.code == .invalidRequest {
            return JSONBody.error(error.message, status: .badRequest)
        }
        return JSONBody.error(String(describing: error), status: .conflict)
    }
}
