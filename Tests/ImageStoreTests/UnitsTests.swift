import ImageStore
import Testing

@Suite struct UnitsTests {
    @Test func bytesInDecimalUnitsAsDockerImagesPrintsThem() {
        #expect(Units.bytes(999) == "999 B")
        #expect(Units.bytes(1500) == "1.5 kB")
        #expect(Units.bytes(12_300_000) == "12 MB")
        #expect(Units.bytes(4_200_000_000) == "4.2 GB")
    }

    @Test func secondsWithTwoDecimalsUnderTenThenOne() {
        #expect(Units.seconds(.milliseconds(1234)) == "1.23s")
        #expect(Units.seconds(.milliseconds(12_340)) == "12.3s")
    }

    /// `devenv ps`'s UP column: two units, the second always two digits so columns line up.
    @Test func uptimeShowsTheTwoLargestUnits() {
        #expect(Units.uptime(45) == "45s")
        #expect(Units.uptime(12 * 60 + 3) == "12m03s")
        #expect(Units.uptime(3 * 3600 + 7 * 60 + 59) == "3h07m", "seconds dropped, not rounded")
        #expect(Units.uptime(2 * 86400 + 4 * 3600 + 59 * 60) == "2d04h")
        #expect(Units.uptime(400 * 86400) == "400d00h")
    }

    @Test func uptimeChangesUnitExactlyAtTheBoundary() {
        #expect(Units.uptime(0) == "0s")
        #expect(Units.uptime(59.9) == "59s")
        #expect(Units.uptime(60) == "1m00s")
        #expect(Units.uptime(3599) == "59m59s")
        #expect(Units.uptime(3600) == "1h00m")
        #expect(Units.uptime(86399) == "23h59m")
        #expect(Units.uptime(86400) == "1d00h")
    }

    /// A clock set back while the environment runs.
    @Test func aNegativeUptimeIsZero() {
        #expect(Units.uptime(-5) == "0s")
    }
}
