import TailorKit
