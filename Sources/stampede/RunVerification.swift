import CQLClient
import Foundation
import Verification

/// `--verify` after a run: read back what the results file says was written and print the reconciliation.
enum RunVerification {
    /// - Returns: whether verification passed (nothing acknowledged missing; found == expected for a completed run).
    static func verify(resultsFile: String, session configuration: CQLSessionConfiguration) async throws -> Bool {
        print("==> verifying: reading the run's messages back")
        let expectation = try RunExpectation.load(resultsFile: resultsFile)
        let session = try await CQLSession.connect(configuration)
        do {
            let report = try await Verifier.verify(session: session, expectation: expectation)
            await session.close()
            print(report.rendered())
            return report.passed
        } catch {
            await session.close()
            throw error
        }
    }
}
