import Foundation

/// Python's `datetime.now().strftime(format)` in the C locale, as transformers' `strftime_now` global
/// computes it (Llama 3.2 templates print the date with `strftime_now("%d %b %Y")`). The datetime is naive
/// local time, so `%z` and `%Z` are empty. Supports the C89 directives and glibc's `%-d` (no padding),
/// `%e`, `%D`, `%F`, `%T`, `%R`, `%h`, `%u`; an unknown directive is written as is, as glibc does.
enum Strftime {
    private static let weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    static func format(_ format: String, date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second, .nanosecond, .weekday], from: date)
        let year = c.year ?? 1970
        let month = c.month ?? 1
        let day = c.day ?? 1
        let hour = c.hour ?? 0
        let minute = c.minute ?? 0
        let second = c.second ?? 0
        let weekday = (c.weekday ?? 1) - 1  // 0 = Sunday
        let dayOfYear = (calendar.ordinality(of: .day, in: .year, for: date) ?? 1) - 1  // 0-based
        let microsecond = (c.nanosecond ?? 0) / 1000

        func pad(_ v: Int, _ width: Int, _ padChar: Character = "0") -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: padChar, count: width - s.count) + s
        }
        func directive(_ d: Character, noPad: Bool) -> String? {
            func p(_ v: Int, _ w: Int) -> String { noPad ? String(v) : pad(v, w) }
            let hour12 = hour % 12 == 0 ? 12 : hour % 12
            switch d {
            case "a": return String(weekdayNames[weekday].prefix(3))
            case "A": return weekdayNames[weekday]
            case "b", "h": return String(monthNames[month - 1].prefix(3))
            case "B": return monthNames[month - 1]
            case "c":
                return "\(weekdayNames[weekday].prefix(3)) \(monthNames[month - 1].prefix(3)) \(pad(day, 2, " ")) "
                    + "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)) \(year)"
            case "d": return p(day, 2)
            case "e": return pad(day, 2, " ")
            case "f": return pad(microsecond, 6)
            case "H": return p(hour, 2)
            case "I": return p(hour12, 2)
            case "j": return p(dayOfYear + 1, 3)
            case "m": return p(month, 2)
            case "M": return p(minute, 2)
            case "p": return hour < 12 ? "AM" : "PM"
            case "S": return p(second, 2)
            case "U": return p((dayOfYear + 7 - weekday) / 7, 2)
            case "W": return p((dayOfYear + 7 - (weekday + 6) % 7) / 7, 2)
            case "w": return String(weekday)
            case "u": return String(weekday == 0 ? 7 : weekday)
            case "x": return "\(pad(month, 2))/\(pad(day, 2))/\(pad(year % 100, 2))"
            case "D": return "\(pad(month, 2))/\(pad(day, 2))/\(pad(year % 100, 2))"
            case "X", "T": return "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
            case "R": return "\(pad(hour, 2)):\(pad(minute, 2))"
            case "F": return "\(year)-\(pad(month, 2))-\(pad(day, 2))"
            case "y": return p(year % 100, 2)
            case "Y": return String(year)
            case "z", "Z": return ""
            case "n": return "\n"
            case "t": return "\t"
            case "%": return "%"
            default: return nil
            }
        }

        var out = ""
        var chars = format[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "%", let next = chars.first else {
                out.append(c)
                continue
            }
            var noPad = false
            var d = next
            chars = chars.dropFirst()
            if d == "-", let after = chars.first {
                noPad = true
                d = after
                chars = chars.dropFirst()
            }
            if let text = directive(d, noPad: noPad) {
                out += text
            } else {
                out += noPad ? "%-\(d)" : "%\(d)"
            }
        }
        return out
    }
}
